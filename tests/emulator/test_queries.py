"""readByQuery (query string, paging with readMore) and query (structured filters, order, offset)."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from tests.emulator.support import GatewayClient, customer_xml

CUSTOMERS = [
    ("C01", "Alpha", "active", "100", "EMEA"),
    ("C02", "Beta", "inactive", "250.5", "EMEA"),
    ("C03", "O'Brien & Co", "active", "1000", "AMER"),
    ("C04", "gamma", "active", "", "APAC"),
    ("C05", "Delta", "active", "75", ""),
]


@pytest.fixture
def customers(gw: GatewayClient) -> GatewayClient:
    objects = "".join(
        customer_xml(
            cid,
            name,
            f"<STATUS>{status}</STATUS>"
            + (f"<CREDITLIMIT>{limit}</CREDITLIMIT>" if limit else "")
            + (f"<REGION>{region}</REGION>" if region else ""),
        )
        for cid, name, status, limit, region in CUSTOMERS
    )
    gw.create(objects).ok()
    return gw


def ids(rows: list[dict[str, object]]) -> list[str]:
    return [str(row["CUSTOMERID"]) for row in rows]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("", ["C01", "C02", "C03", "C04", "C05"]),
        ("CUSTOMERID = 'C02'", ["C02"]),
        ("STATUS = 'T'", ["C01", "C03", "C04", "C05"]),  # Intacct's stored flag for active
        ("STATUS = 'inactive'", ["C02"]),
        ("NAME = 'O\\'Brien & Co'", ["C03"]),
        ("CREDITLIMIT > 99", ["C01", "C02", "C03"]),  # numbers compare as numbers, not text
        ("CREDITLIMIT >= 100 AND CREDITLIMIT <= 250.5", ["C01", "C02"]),
        ("CREDITLIMIT < 100", ["C05"]),
        ("CREDITLIMIT IS NULL", ["C04"]),
        ("REGION IS NOT NULL AND NOT REGION = 'EMEA'", ["C03", "C04"]),
        ("NAME like 'A%'", ["C01"]),
        ("NAME like '_eta'", ["C02"]),
        ("NAME not like '%a'", ["C03"]),
        ("NAME LIKE 'g%'", ["C04"]),  # case-sensitive: 'gamma' only
        ("CUSTOMERID in ('C01','C05', 'C99')", ["C01", "C05"]),
        ("CUSTOMERID not in ('C01','C05')", ["C02", "C03", "C04"]),
        ("(REGION = 'EMEA' OR REGION = 'APAC') AND STATUS = 'active'", ["C01", "C04"]),
        ("REGION = 'EMEA' OR REGION = 'APAC' AND STATUS = 'inactive'", ["C01", "C02"]),  # AND binds tighter
        ("DISPLAYCONTACT.PRINTAS = 'Delta'", ["C05"]),
        ("WHENCREATED > '01/01/2000'", ["C01", "C02", "C03", "C04", "C05"]),
        ("RECORDNO <> 0", ["C01", "C02", "C03", "C04", "C05"]),
    ],
)
def test_read_by_query_operators(customers: GatewayClient, where: str, expected: list[str]) -> None:
    assert ids(customers.query("CUSTOMER", where)) == expected


@pytest.mark.parametrize(
    "where",
    [
        "CUSTOMERID='C01'",  # Intacct needs spaces around operators
        "CUSTOMERID = 'C01",
        "CUSTOMERID == 'C01'",
        "SHOESIZE = 9",
        "CUSTOMERID = 'C01' AND",
        "(CUSTOMERID = 'C01'",
        "CUSTOMERID IS 'x'",
        "CUSTOMERID in ()",
    ],
)
def test_read_by_query_refuses_bad_queries(customers: GatewayClient, where: str) -> None:
    result = customers.one(
        f"<readByQuery><object>CUSTOMER</object><query>{escape(where)}</query></readByQuery>"
    )
    assert result.errornos == ["Query Failed"]
    assert result.errors[0].description2


def test_read_by_query_paging_with_read_more(customers: GatewayClient) -> None:
    first = customers.one(
        "<readByQuery><object>CUSTOMER</object><fields>CUSTOMERID</fields><query/><pagesize>2</pagesize></readByQuery>"
    ).ok()
    data = first.data
    assert data is not None
    assert {name: data.get(name) for name in ("listtype", "count", "totalcount", "numremaining")} == {
        "listtype": "customer",
        "count": "2",
        "totalcount": "5",
        "numremaining": "3",
    }
    assert [row.tag for row in data] == ["customer", "customer"]
    seen = ids(first.records())
    result_id = data.get("resultId")
    while result_id:
        page = customers.one(f"<readMore><resultId>{result_id}</resultId></readMore>").ok()
        assert page.data is not None
        seen += ids(page.records())
        result_id = page.data.get("resultId")
        assert (page.data.get("numremaining") == "0") == (not result_id)
    assert seen == ["C01", "C02", "C03", "C04", "C05"]
    stale = customers.one(f"<readMore><resultId>{data.get('resultId')}</resultId></readMore>")
    assert stale.errornos == ["Query Failed"]


@pytest.mark.parametrize("pagesize", ["0", "1001", "ten"])
def test_read_by_query_page_size_bounds(customers: GatewayClient, pagesize: str) -> None:
    body = f"<readByQuery><object>CUSTOMER</object><query/><pagesize>{pagesize}</pagesize></readByQuery>"
    assert customers.one(body).errornos == ["Query Failed"]


def test_read_by_query_field_lists_and_formats(customers: GatewayClient) -> None:
    rows = customers.query("CUSTOMER", "CUSTOMERID = 'C01'", fields="NAME,REGION,COMMENTS")
    assert rows == [{"NAME": "Alpha", "REGION": "EMEA", "COMMENTS": ""}]
    assert customers.one(
        "<readByQuery><object>CUSTOMER</object><query/><returnFormat>json</returnFormat></readByQuery>"
    ).errornos == ["Query Failed"]
    assert customers.one("<readByQuery><object>NOPE</object><query/></readByQuery>").errornos == [
        "Query Failed"
    ]


def query(gw: GatewayClient, filter_xml: str = "", extra: str = "", fields: str = "CUSTOMERID") -> list[str]:
    select = "".join(f"<field>{name}</field>" for name in fields.split(","))
    result = gw.one(
        f"<query><object>CUSTOMER</object><select>{select}</select>"
        + (f"<filter>{filter_xml}</filter>" if filter_xml else "")
        + f"{extra}</query>"
    ).ok()
    return ids(result.records())


def cond(op: str, field: str, *values: str) -> str:
    return (
        f"<{op}><field>{field}</field>" + "".join(f"<value>{escape(v)}</value>" for v in values) + f"</{op}>"
    )


@pytest.mark.parametrize(
    ("filter_xml", "expected"),
    [
        (cond("equalto", "CUSTOMERID", "C03"), ["C03"]),
        (cond("notequalto", "STATUS", "active"), ["C02"]),
        (cond("lessthan", "CREDITLIMIT", "100"), ["C05"]),
        (cond("lessthanorequalto", "CREDITLIMIT", "100"), ["C01", "C05"]),
        (cond("greaterthan", "CREDITLIMIT", "250"), ["C02", "C03"]),
        (cond("greaterthanorequalto", "CREDITLIMIT", "250.5"), ["C02", "C03"]),
        (cond("between", "CREDITLIMIT", "75", "100"), ["C01", "C05"]),
        (cond("in", "CUSTOMERID", "C02", "C04"), ["C02", "C04"]),
        (cond("notin", "CUSTOMERID", "C02", "C04"), ["C01", "C03", "C05"]),
        (cond("like", "NAME", "%ta"), ["C02", "C05"]),
        (cond("notlike", "NAME", "%a"), ["C03"]),
        (cond("isnull", "REGION"), ["C05"]),
        (cond("isnotnull", "CREDITLIMIT"), ["C01", "C02", "C03", "C05"]),
        (
            "<and>" + cond("equalto", "REGION", "EMEA") + cond("equalto", "STATUS", "active") + "</and>",
            ["C01"],
        ),
        (
            "<or>"
            + cond("equalto", "REGION", "APAC")
            + "<and>"
            + cond("equalto", "REGION", "EMEA")
            + cond("equalto", "STATUS", "inactive")
            + "</and></or>",
            ["C02", "C04"],
        ),
    ],
)
def test_query_filters(customers: GatewayClient, filter_xml: str, expected: list[str]) -> None:
    assert query(customers, filter_xml) == expected


def test_query_case_insensitive_option(customers: GatewayClient) -> None:
    assert query(customers, cond("equalto", "NAME", "GAMMA")) == []
    options = "<options><caseinsensitive>true</caseinsensitive><showprivate>true</showprivate></options>"
    assert query(customers, cond("equalto", "NAME", "GAMMA"), options) == ["C04"]


def test_query_order_offset_and_counts(customers: GatewayClient) -> None:
    order = "<orderby><order><field>NAME</field><descending/></order></orderby>"
    assert query(customers, extra=order) == [
        "C04",
        "C03",
        "C05",
        "C02",
        "C01",
    ]  # 'gamma' sorts after capitals
    by_limit = "<orderby><order><field>CREDITLIMIT</field><ascending/></order></orderby>"
    assert query(customers, extra=by_limit) == [
        "C04",
        "C05",
        "C01",
        "C02",
        "C03",
    ]  # NULL first, then by number
    page = customers.one(
        "<query><object>CUSTOMER</object><select><field>CUSTOMERID</field><field>DISPLAYCONTACT.PRINTAS</field></select>"
        f"{order}<pagesize>2</pagesize><offset>2</offset></query>"
    ).ok()
    assert page.data is not None
    assert {
        name: page.data.get(name) for name in ("listtype", "totalcount", "offset", "count", "numremaining")
    } == {
        "listtype": "CUSTOMER",
        "totalcount": "5",
        "offset": "2",
        "count": "2",
        "numremaining": "1",
    }
    assert page.records() == [
        {"CUSTOMERID": "C05", "DISPLAYCONTACT": {"PRINTAS": "Delta"}},
        {"CUSTOMERID": "C02", "DISPLAYCONTACT": {"PRINTAS": "Beta"}},
    ]
    assert [row.tag for row in page.data] == ["CUSTOMER", "CUSTOMER"]


@pytest.mark.parametrize(
    "body",
    [
        "<query><object>CUSTOMER</object><select><field>*</field></select></query>",
        "<query><object>CUSTOMER</object></query>",
        "<query><object>CUSTOMER</object><select><field>NOPE</field></select></query>",
        "<query><object>CUSTOMER</object><select><field>NAME</field></select><pagesize>2001</pagesize></query>",
        "<query><object>CUSTOMER</object><select><field>NAME</field></select><offset>-1</offset></query>",
        "<query><object>CUSTOMER</object><select><field>NAME</field></select><filter><near><field>NAME</field>"
        "<value>x</value></near></filter></query>",
        "<query><object>CUSTOMER</object><select><field>NAME</field></select><filter>"
        + cond("between", "CREDITLIMIT", "1")
        + "</filter></query>",
        "<query><object>CUSTOMER</object><select><field>NAME</field></select><filter>"
        + cond("equalto", "NAME", "a")
        + cond("equalto", "NAME", "b")
        + "</filter></query>",
    ],
)
def test_query_refusals(customers: GatewayClient, body: str) -> None:
    assert customers.one(body).errornos == ["Query Failed"]


def test_query_in_accepts_1000_values_and_no_more(customers: GatewayClient) -> None:
    values = [f"C{n:02d}" for n in range(1000)]
    assert query(customers, cond("in", "CUSTOMERID", *values)) == ["C01", "C02", "C03", "C04", "C05"]
    too_many = customers.one(
        "<query><object>CUSTOMER</object><select><field>CUSTOMERID</field></select><filter>"
        + cond("in", "CUSTOMERID", *values, "C1000")
        + "</filter></query>"
    )
    assert too_many.errornos == ["Query Failed"]
    assert "1000" in too_many.message
