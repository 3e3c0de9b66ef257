"""Legacy functions: fixed element order, their records as warehouse connectors read them, updates by
1-based line_num, and the rules (references, due dates, custom fields, payments)."""

from __future__ import annotations

import pytest

from tests.emulator.support import GatewayClient, customer_xml, invoice_xml

CREATED = "<datecreated><year>2025</year><month>1</month><day>15</day></datecreated>"
LINE = "<lineitem><glaccountno>4000</glaccountno><amount>100</amount></lineitem>"


@pytest.fixture
def customer(gw: GatewayClient) -> str:
    gw.create(customer_xml("C-LEG", "Legacy Ltd", "<TERMNAME>N15</TERMNAME>")).ok()
    return "C-LEG"


def invoice_body(header: str, lines: str = LINE) -> str:
    return f"<create_invoice>{header}<invoiceitems>{lines}</invoiceitems></create_invoice>"


def test_invoice_reads_back_with_object_field_names(gw: GatewayClient, customer: str) -> None:
    key = (
        gw.one(
            invoice_body(
                f"<customerid>{customer}</customerid>{CREATED}"
                "<dateposted><year>2025</year><month>01</month><day>16</day></dateposted>"
                "<termname>N30</termname><invoiceno>INV-7</invoiceno><ponumber>PO-1</ponumber>"
                "<description>Consulting</description><billto><contactname>Bill</contactname></billto>"
                "<shipto><contactname>Ship</contactname></shipto>"
                "<customfields><customfield><customfieldname>sales_channel</customfieldname>"
                "<customfieldvalue>web</customfieldvalue></customfield></customfields>",
                LINE + "<lineitem><glaccountno>4100</glaccountno><amount>50.25</amount><memo>two</memo>"
                "<locationid>100</locationid><departmentid>SALES</departmentid></lineitem>",
            )
        )
        .ok()
        .key
    )
    assert key and key.isdigit()
    (row,) = gw.query("ARINVOICE", "RECORDID = 'INV-7'")
    expected = {
        "RECORDNO": key,
        "RECORDID": "INV-7",
        "CUSTOMERID": "C-LEG",
        "CUSTOMERNAME": "Legacy Ltd",
        "DOCNUMBER": "PO-1",
        "DESCRIPTION": "Consulting",
        "STATE": "Posted",
        "TERMNAME": "N30",
        "WHENCREATED": "01/15/2025",
        "WHENPOSTED": "01/16/2025",
        "WHENDUE": "02/14/2025",
        "TOTALENTERED": "150.25",
        "TOTALPAID": "0.00",
        "TOTALDUE": "150.25",
        "BILLTO": {"CONTACTNAME": "Bill"},
        "SHIPTO": {"CONTACTNAME": "Ship"},
        "BILLTOPAYTOCONTACTNAME": "Bill",
        "SHIPTORETURNTOCONTACTNAME": "Ship",
        "SALES_CHANNEL": "web",
    }
    assert {name: row.get(name) for name in expected} == expected
    lines = row["ARINVOICEITEMS"]["arinvoiceitem"]  # type: ignore[index]
    assert [(line["LINE_NO"], line["ACCOUNTNO"], line["AMOUNT"]) for line in lines] == [
        ("0", "4000", "100"),
        ("1", "4100", "50.25"),
    ]
    assert lines[1]["ENTRYDESCRIPTION"] == "two"
    assert lines[1]["DEPARTMENTID"] == "SALES"
    selected = gw.one(
        "<query><object>ARINVOICE</object><select><field>RECORDID</field><field>TOTALDUE</field></select>"
        "<filter><equalto><field>CUSTOMERID</field><value>C-LEG</value></equalto></filter></query>"
    ).ok()
    assert selected.records() == [{"RECORDID": "INV-7", "TOTALDUE": "150.25"}]


@pytest.mark.parametrize(
    ("header", "due", "term"),
    [
        ("<datedue><year>2025</year><month>3</month><day>1</day></datedue>", "03/01/2025", "N15"),
        ("<termname>N30</termname>", "02/14/2025", "N30"),
        ("", "01/30/2025", "N15"),  # neither: the customer's term (N15)
    ],
)
def test_invoice_due_date(gw: GatewayClient, customer: str, header: str, due: str, term: str) -> None:
    key = gw.one(invoice_body(f"<customerid>{customer}</customerid>{CREATED}{header}")).ok().key
    (row,) = gw.query("ARINVOICE", f"RECORDNO = {key}")
    assert (row["WHENDUE"], row["TERMNAME"]) == (due, term)


def test_invoice_without_any_term_is_due_when_created(gw: GatewayClient) -> None:
    gw.create(customer_xml("NO-TERM")).ok()
    key = gw.one(invoice_xml("NO-TERM")).ok().key
    assert gw.query("ARINVOICE", f"RECORDNO = {key}")[0]["WHENDUE"] == "01/15/2025"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (invoice_body(f"<invoiceno>X</invoiceno><customerid>C-LEG</customerid>{CREATED}"), "'customerid'"),
        (invoice_body(f"{CREATED}<customerid>C-LEG</customerid>"), "'customerid'"),
        (
            invoice_body(f"<customerid>C-LEG</customerid>{CREATED}<termname>N30</termname><datedue/>"),
            "'datedue'",
        ),
        (invoice_body(f"<customerid>C-LEG</customerid>{CREATED}<colour>red</colour>"), "'colour'"),
        (
            invoice_body(
                f"<customerid>C-LEG</customerid>{CREATED}<invoiceno>1</invoiceno><invoiceno>2</invoiceno>"
            ),
            "'invoiceno'",
        ),
        (invoice_body("<customerid>C-LEG</customerid>"), "'datecreated'"),
        (f"<create_invoice><customerid>C-LEG</customerid>{CREATED}</create_invoice>", "'invoiceitems'"),
        (
            invoice_body(
                f"<customerid>C-LEG</customerid>{CREATED}",
                "<lineitem><amount>1</amount><glaccountno>4000</glaccountno></lineitem>",
            ),
            "'glaccountno'",
        ),
        (
            invoice_body(
                f"<customerid>C-LEG</customerid>{CREATED}",
                "<lineitem><glaccountno>4000</glaccountno></lineitem>",
            ),
            "'amount'",
        ),
        (
            invoice_body(
                "<customerid>C-LEG</customerid><datecreated><month>1</month><year>2025</year><day>1</day></datecreated>"
            ),
            "'month'",
        ),
        (invoice_body(f"<customerid a='1'>C-LEG</customerid>{CREATED}"), "'a'"),
    ],
)
def test_legacy_element_order_and_schema(gw: GatewayClient, customer: str, body: str, named: str) -> None:
    result = gw.one(body)
    assert result.errornos == ["XL03000003"]
    assert named in result.errors[0].description2
    assert gw.query("ARINVOICE") == []


def test_sdk_and_docs_order_of_action_and_batchkey_both_accepted(gw: GatewayClient, customer: str) -> None:
    head = f"<customerid>{customer}</customerid>{CREATED}"
    gw.one(invoice_body(f"{head}<action>Submit</action><batchkey>1</batchkey>")).ok()
    gw.one(invoice_body(f"{head}<batchkey>2</batchkey><action>Draft</action>")).ok()
    states = sorted(str(row["STATE"]) for row in gw.query("ARINVOICE"))
    assert states == ["Draft", "Posted"]


@pytest.mark.parametrize(
    ("header", "lines", "errorno", "named"),
    [
        ("<customerid>NOBODY</customerid>" + CREATED, LINE, "BL03000025", "NOBODY"),
        ("<customerid>C-LEG</customerid>" + CREATED + "<termname>N99</termname>", LINE, "BL03000025", "N99"),
        ("<customerid>C-LEG</customerid>" + CREATED, LINE.replace("4000", "4999"), "BL03000025", "4999"),
        (
            "<customerid>C-LEG</customerid>" + CREATED,
            "<lineitem><glaccountno/><amount>1</amount></lineitem>",
            "BL03000018",
            "glaccountno",
        ),
        (
            "<customerid>C-LEG</customerid>" + CREATED,
            "<lineitem><glaccountno>4000</glaccountno><amount>x</amount></lineitem>",
            "BL03000029",
            "amount",
        ),
        (
            "<customerid>C-LEG</customerid>" + CREATED,
            LINE.replace("</amount>", "</amount><locationid>MOON</locationid>"),
            "BL03000025",
            "MOON",
        ),
        ("<customerid>C-LEG</customerid>" + CREATED + "<action>Maybe</action>", LINE, "BL03000029", "action"),
        (
            "<customerid>C-LEG</customerid><datecreated><year>2025</year><month>2</month><day>30</day></datecreated>",
            LINE,
            "BL03000029",
            "datecreated",
        ),
        (
            "<customerid>C-LEG</customerid>"
            + CREATED
            + "<customfields><customfield><customfieldname>NOPE</customfieldname>"
            "<customfieldvalue>1</customfieldvalue></customfield></customfields>",
            LINE,
            "BL03000030",
            "NOPE",
        ),
    ],
)
def test_invoice_rules(
    gw: GatewayClient, customer: str, header: str, lines: str, errorno: str, named: str
) -> None:
    result = gw.one(invoice_body(header, lines))
    assert result.errornos[0] == errorno
    assert named in result.errors[0].description2


def test_duplicate_invoice_number(gw: GatewayClient, customer: str) -> None:
    gw.one(invoice_xml(customer, invoiceno="INV-1")).ok()
    result = gw.one(invoice_xml(customer, invoiceno="INV-1"))
    assert result.errornos == ["BL34000061", "BL01001973"]
    assert "INV-1" in result.message


def test_update_invoice_by_line_num_and_new_lines(gw: GatewayClient, customer: str) -> None:
    key = gw.one(invoice_xml(customer, "100.00", invoiceno="U-1")).ok().key
    gw.one(
        f'<update_invoice key="{key}"><description>changed</description><updateinvoiceitems>'
        '<updatelineitem line_num="1"><amount>80</amount><memo>edited</memo></updatelineitem>'
        "<lineitem><glaccountno>4100</glaccountno><amount>5.5</amount></lineitem>"
        "</updateinvoiceitems></update_invoice>"
    ).ok()
    (row,) = gw.query("ARINVOICE", f"RECORDNO = {key}")
    lines = row["ARINVOICEITEMS"]["arinvoiceitem"]  # type: ignore[index]
    assert [(line["AMOUNT"], line.get("ENTRYDESCRIPTION", ""), line["LINE_NO"]) for line in lines] == [
        ("80", "edited", "0"),
        ("5.5", "", "1"),
    ]
    assert (row["DESCRIPTION"], row["TOTALENTERED"], row["RECORDID"]) == ("changed", "85.50", "U-1")
    beyond = gw.one(
        f'<update_invoice key="{key}"><updateinvoiceitems><updatelineitem line_num="3"><amount>1</amount>'
        "</updatelineitem></updateinvoiceitems></update_invoice>"
    )
    assert beyond.status == "failure" and "line_num" in beyond.message
    zero = gw.one(
        f'<update_invoice key="{key}"><updateinvoiceitems><updatelineitem line_num="0"><amount>1</amount>'
        "</updatelineitem></updateinvoiceitems></update_invoice>"
    )
    assert zero.status == "failure"  # line_num is 1-based
    assert gw.one('<update_invoice key="999999"><description>x</description></update_invoice>').errornos == [
        "BL01001973"
    ]
    out_of_order = gw.one(
        f'<update_invoice key="{key}"><description>x</description>'
        "<customerid>C-LEG</customerid></update_invoice>"
    )
    assert out_of_order.errornos == ["XL03000003"]


def test_delete_invoice_refused_once_paid(gw: GatewayClient, customer: str) -> None:
    key = gw.one(invoice_xml(customer, "100.00")).ok().key
    gw.one(
        f"<create_arpayment><customerid>{customer}</customerid><paymentamount>10</paymentamount>"
        "<bankaccountid>BOA</bankaccountid><datereceived><year>2025</year><month>2</month><day>1</day></datereceived>"
        f"<paymentmethod>Cash</paymentmethod><arpaymentitem><invoicekey>{key}</invoicekey><amount>10</amount>"
        "</arpaymentitem></create_arpayment>"
    ).ok()
    refused = gw.one(f'<delete_invoice key="{key}"/>')
    assert refused.status == "failure" and "payments applied" in refused.message
    other = gw.one(invoice_xml(customer)).ok().key
    gw.one(f'<delete_invoice key="{other}"/>').ok()
    assert gw.one("<delete_invoice/>").errornos == ["XL03000003"]


def test_legacy_payment_rules(gw: GatewayClient, customer: str) -> None:
    key = gw.one(invoice_xml(customer, "50.00")).ok().key

    def payment(amount: str, items: str, bank: str = "<bankaccountid>BOA</bankaccountid>") -> str:
        return (
            f"<create_arpayment><customerid>{customer}</customerid><paymentamount>{amount}</paymentamount>{bank}"
            "<datereceived><year>2025</year><month>2</month><day>1</day></datereceived>"
            f"<paymentmethod>EFT</paymentmethod>{items}</create_arpayment>"
        )

    item = f"<arpaymentitem><invoicekey>{key}</invoicekey><amount>30</amount></arpaymentitem>"
    assert "exceed" in gw.one(payment("20", item)).message
    assert "FINANCIALENTITY" in gw.one(payment("30", item, bank="")).message
    assert (
        gw.one(payment("30", item, bank="<undepfundsacct>7777</undepfundsacct>")).errornos[0] == "BL03000025"
    )
    unapplied = gw.one(payment("30", "")).ok()  # an advance: nothing applied yet
    assert gw.query("ARPYMT", f"RECORDNO = {unapplied.key}")[0]["TOTALENTERED"] == "30"
    gw.one(payment("50", item + item.replace(">30<", ">20<"))).ok()
    assert gw.query("ARINVOICE", f"RECORDNO = {key}")[0]["STATE"] == "Paid"


def test_adjustment_lines_and_custom_fields(gw: GatewayClient, customer: str) -> None:
    key = (
        gw.one(
            f"<create_aradjustment><customerid>{customer}</customerid>{CREATED}<adjustmentno>ADJ-9</adjustmentno>"
            "<action>Draft</action><description>credit</description><aradjustmentitems>"
            "<lineitem><accountlabel>Services</accountlabel><amount>-10</amount><memo>m</memo><customfields>"
            "<customfield><customfieldname>REASON_CODE</customfieldname><customfieldvalue>R1</customfieldvalue>"
            "</customfield></customfields></lineitem></aradjustmentitems></create_aradjustment>"
        )
        .ok()
        .key
    )
    (row,) = gw.query("ARADJUSTMENT", f"RECORDNO = {key}")
    assert (row["RECORDID"], row["STATE"], row["TOTALENTERED"], row["DESCRIPTION"]) == (
        "ADJ-9",
        "Draft",
        "-10.00",
        "credit",
    )
    line = row["ARADJUSTMENTITEMS"]["aradjustmentitem"]  # type: ignore[index]
    assert (line["ACCOUNTNO"], line["ACCOUNTLABEL"], line["REASON_CODE"]) == ("4100", "Services", "R1")


def test_sales_transactions(gw: GatewayClient, customer: str) -> None:
    def order(definition: str, extra_line: str = "", header: str = "") -> object:
        return gw.one(
            f"<create_sotransaction><transactiontype>{definition}</transactiontype>{CREATED}"
            f"<customerid>{customer}</customerid>{header}<sotransitems><sotransitem><itemid>WIDGET</itemid>"
            f"<quantity>2</quantity>{extra_line}</sotransitem></sotransitems></create_sotransaction>"
        )

    first = order("Sales Order").ok()  # type: ignore[attr-defined]
    second = order("Sales Order", "<discountpercent>10</discountpercent><price>12.5</price>").ok()  # type: ignore[attr-defined]
    invoice = order("Sales Invoice", header="<termname>N30</termname>").ok()  # type: ignore[attr-defined]
    assert (first.key, second.key, invoice.key) == (
        "Sales Order-SO0001",
        "Sales Order-SO0002",
        "Sales Invoice-INV0001",
    )
    rows = {row["DOCID"]: row for row in gw.query("SODOCUMENT")}
    so = rows["Sales Order-SO0002"]
    assert (so["DOCNO"], so["DOCPARID"], so["CUSTVENDID"], so["CUSTVENDNAME"], so["STATE"]) == (
        "SO0002",
        "Sales Order",
        "C-LEG",
        "Legacy Ltd",
        "Pending",
    )
    assert so["TOTAL"] == "22.50"  # 2 x 12.50 less 10 %
    assert rows["Sales Order-SO0001"]["TOTAL"] == "20.00"  # 2 x the item's base price
    assert rows["Sales Invoice-INV0001"]["WHENDUE"] == "02/14/2025"
    only_orders = gw.one(
        "<readByQuery><object>SODOCUMENT</object><fields>DOCID</fields><query/>"
        "<docparid>Sales Order</docparid></readByQuery>"
    ).ok()
    assert [row["DOCID"] for row in only_orders.records()] == ["Sales Order-SO0001", "Sales Order-SO0002"]
    invoices = gw.one(
        "<query><object>SODOCUMENT</object><select><field>DOCID</field></select>"
        "<docparid>Sales Invoice</docparid></query>"
    ).ok()
    assert invoices.records() == [{"DOCID": "Sales Invoice-INV0001"}]
    assert order("Purchase Order").errornos[0] == "BL03000025"  # type: ignore[attr-defined]
    assert order("Sales Order", "<locationid>ATLANTIS</locationid>").errornos[0] == "BL03000025"  # type: ignore[attr-defined]
    missing_item = gw.one(
        f"<create_sotransaction><transactiontype>Sales Order</transactiontype>{CREATED}"
        f"<customerid>{customer}</customerid>"
        "<sotransitems><sotransitem><itemid>GADGET</itemid><quantity>1</quantity></sotransitem></sotransitems>"
        "</create_sotransaction>"
    )
    assert missing_item.errornos[0] == "BL03000025" and "GADGET" in missing_item.message
    duplicate = order("Sales Order", header="<documentno>SO0001</documentno>")
    assert duplicate.errornos[0] == "BL34000061"  # type: ignore[attr-defined]
    gw.one(
        '<update_sotransaction key="Sales Order-SO0001"><referenceno>PO-9</referenceno><state>Draft</state>'
        "<updatesotransitems><sotransitem><itemid>CONSULTING</itemid><quantity>1</quantity></sotransitem>"
        "</updatesotransitems></update_sotransaction>"
    ).ok()
    (updated,) = gw.query("SODOCUMENT", "DOCID = 'Sales Order-SO0001'")
    assert (updated["PONUMBER"], updated["STATE"], updated["TOTAL"]) == ("PO-9", "Draft", "170.00")
    gw.one('<delete_sotransaction key="Sales Order-SO0001"/>').ok()
    assert gw.one('<delete_sotransaction key="Sales Order-SO0001"/>').errornos == ["BL01001973"]


def test_legacy_contact_functions(gw: GatewayClient) -> None:
    created = gw.one(
        "<create_contact><contactname>Old Style</contactname><printas>Old Style</printas>"
        "<taxable>true</taxable>"
        "<status>inactive</status><mailaddress><city>Paris</city></mailaddress></create_contact>"
    ).ok()
    assert created.key == "Old Style"
    (row,) = gw.query("CONTACT")
    assert (row["TAXABLE"], row["STATUS"], row["MAILADDRESS"]) == ("true", "inactive", {"CITY": "Paris"})
    assert gw.one(
        "<create_contact><printas>x</printas><contactname>y</contactname></create_contact>"
    ).errornos == ["XL03000003"]
    assert gw.one("<delete_contact contactname='Nobody'/>").errornos == ["BL01001973"]
    gw.one("<delete_contact contactname='Old Style'/>").ok()
    assert gw.query("CONTACT") == []
