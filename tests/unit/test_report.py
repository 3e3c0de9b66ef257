"""The HTML run report: content, escaping of user data, caps on big runs, determinism, no network."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import lxml.html
import pytest

from dbt_intacct.observe.history import ApiCallRecord, ModelRecord, RowOutcomeRecord, RunDetail, RunRecord
from dbt_intacct.observe.report import (
    MAX_CALLS_PER_RUN,
    MAX_PROBLEM_ROWS_PER_RUN,
    MAX_XML_CHARS,
    render_report,
)

GENERATED = datetime(2025, 3, 7, 9, 30, tzinfo=UTC)
ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"


# -- realistic runs, shared with the browser test and scripts/report_screenshot.py ----------------------
def _customer_request(codes: list[str]) -> str:
    functions = "".join(
        f'<function controlid="customer-{code}"><create><CUSTOMER><CUSTOMERID>{code}</CUSTOMERID>'
        f"<NAME>Northwind {code}</NAME><DISPLAYCONTACT><EMAIL1>ap-{code.lower()}@example.com</EMAIL1>"
        "</DISPLAYCONTACT><STATUS>active</STATUS></CUSTOMER></create></function>"
        for code in codes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><request><control><senderid>acme_sender</senderid>'
        "<password>***</password><controlid>batch</controlid><uniqueid>true</uniqueid>"
        '<dtdversion>3.0</dtdversion></control><operation transaction="false"><authentication>'
        f"<sessionid>***</sessionid></authentication><content>{functions}</content></operation></request>"
    )


def _customer_response(codes: list[str], duplicate: str | None) -> str:
    results = []
    for code in codes:
        if code == duplicate:
            results.append(
                f"<result><status>failure</status><function>create</function><controlid>customer-{code}"
                "</controlid><errormessage><error><errorno>BL34000061</errorno><description></description>"
                f"<description2>Another Customer with the given value(s) {code} already exists</description2>"
                "<correction>Use a unique value instead.</correction></error></errormessage></result>"
            )
        else:
            results.append(
                f"<result><status>success</status><function>create</function><controlid>customer-{code}"
                f'</controlid><data listtype="objects" count="1"><customer><RECORDNO>{300 + len(results)}'
                f"</RECORDNO><CUSTOMERID>{code}</CUSTOMERID></customer></data></result>"
            )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "<senderid>acme_sender</senderid><controlid>batch</controlid></control><operation>"
        "<authentication><status>success</status><userid>sync_bot</userid><companyid>ACME</companyid>"
        f"<sessiontimeout>2025-03-07T10:00:00-08:00</sessiontimeout></authentication>{''.join(results)}"
        "</operation></response>"
    )


def _model(name: str, obj: str, mode: str, **counts: int | float | str | None) -> ModelRecord:
    return ModelRecord(
        unique_id=f"model.finance.{name}",
        name=name,
        object=obj,
        mode=mode,
        status=str(counts.pop("status", "success")),
        message=counts.pop("message", None),  # type: ignore[arg-type]
        **counts,  # type: ignore[arg-type]
    )


def _row(
    model: str, key: str, status: str, errorno: str | None, message: str, at: datetime
) -> RowOutcomeRecord:
    return RowOutcomeRecord(
        model_id=f"model.finance.{model}",
        row_key=key,
        action="create",
        status=status,
        recordno=None,
        intacct_id=None,
        errorno=errorno,
        message=message,
        controlid=f"{model}-{key}",
        recorded_at=at,
    )


def realistic_runs() -> list[RunDetail]:
    """A week of nightly syncs of a finance project: successes, rejected rows, a duplicate, a failed login."""
    runs: list[RunDetail] = []
    start = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    for day in range(6):
        began = start + timedelta(days=day, minutes=day * 3)
        run_id = f"2025030{day + 1}-0600-{'abcdef'[day]}{day}f3"
        codes = [f"C-{1040 + day * 3 + i}" for i in range(3)]
        duplicate = codes[1] if day == 5 else None
        models = (
            _model(
                "intacct_customers",
                "customer",
                "upsert",
                created=3 - (duplicate is not None),
                updated=12 + day,
                unchanged=480,
                failed=int(duplicate is not None),
                api_transactions=2,
                elapsed_seconds=3.4,
            ),
            _model(
                "intacct_contacts",
                "contact",
                "upsert",
                created=2,
                updated=5,
                unchanged=611,
                api_transactions=1,
                elapsed_seconds=1.9,
            ),
            _model(
                "intacct_journal_entries",
                "journal_entry",
                "insert",
                created=14,
                rejected=2 if day >= 4 else 0,
                api_transactions=1,
                elapsed_seconds=2.6,
            ),
            _model(
                "intacct_invoices",
                "invoice",
                "insert",
                created=37,
                unchanged=0,
                api_transactions=1,
                elapsed_seconds=4.1,
            ),
            _model(
                "intacct_ar_payments",
                "ar_payment",
                "insert",
                created=9,
                api_transactions=1,
                elapsed_seconds=1.2,
            ),
        )
        rows: list[RowOutcomeRecord] = []
        if day >= 4:
            rows += [
                _row(
                    "intacct_journal_entries",
                    f"JE-2025-03-0{day}-017",
                    "rejected",
                    None,
                    "ENTRIES: the entry does not balance: debits 1200.00 ≠ credits 1150.00",
                    began,
                ),
                _row(
                    "intacct_journal_entries",
                    f"JE-2025-03-0{day}-021",
                    "rejected",
                    None,
                    "ENTRIES[1].ACCOUNTNO: required, but the column 'account' is NULL",
                    began,
                ),
            ]
        if duplicate:
            rows.append(
                _row(
                    "intacct_customers",
                    duplicate,
                    "failed",
                    "BL34000061",
                    f"Another Customer with the given value(s) {duplicate} already exists",
                    began,
                )
            )
        calls = (
            ApiCallRecord(
                sequence=1,
                started_at=began + timedelta(seconds=2),
                duration_ms=412.0,
                url=ENDPOINT,
                http_status=200,
                outcome="ok",
                function_count=1,
                attempt=1,
                fault=None,
                error=None,
                request_xml="<request><control><senderid>acme_sender</senderid><password>***</password>"
                "</control><operation><authentication><login><userid>sync_bot</userid>"
                "<companyid>ACME</companyid><password>***</password></login></authentication>"
                '<content><function controlid="session"><getAPISession/></function></content>'
                "</operation></request>",
                response_xml="<response><control><status>success</status></control><operation><result>"
                "<status>success</status><function>getAPISession</function><data><api>"
                "<sessionid>***</sessionid><endpoint>https://api.intacct.com/ia/xml/xmlgw.phtml</endpoint>"
                "</api></data></result></operation></response>",
            ),
            ApiCallRecord(
                sequence=2,
                started_at=began + timedelta(seconds=3),
                duration_ms=1830.5,
                url=ENDPOINT,
                http_status=429 if day == 5 else 200,
                outcome="transient" if day == 5 else "ok",
                function_count=3,
                attempt=1,
                fault="GW-0010 rate limited" if day == 5 else None,
                error="HTTP 429: too many requests; retried after 2 s" if day == 5 else None,
                request_xml=_customer_request(codes),
                response_xml=None if day == 5 else _customer_response(codes, None),
                model_id="model.finance.intacct_customers",
            ),
        )
        if day == 5:
            calls += (
                ApiCallRecord(
                    sequence=3,
                    started_at=began + timedelta(seconds=6),
                    duration_ms=1422.0,
                    url=ENDPOINT,
                    http_status=200,
                    outcome="ok",
                    function_count=3,
                    attempt=2,
                    fault=None,
                    error=None,
                    request_xml=_customer_request(codes),
                    response_xml=_customer_response(codes, duplicate),
                    model_id="model.finance.intacct_customers",
                ),
            )
        status = "error" if duplicate else "success"
        record = RunRecord(
            run_id=run_id,
            command="sync",
            target="prod",
            status=status,
            started_at=began,
            finished_at=began + timedelta(seconds=14 + day),
            message=None,
            models=models,
        )
        runs.append(RunDetail(run=record, rows=tuple(rows), calls=calls))
    failed_login = RunRecord(
        run_id="20250303-1412-adhoc",
        command="sync",
        target="dev",
        status="error",
        started_at=datetime(2025, 3, 3, 14, 12, tzinfo=UTC),
        finished_at=datetime(2025, 3, 3, 14, 12, 2, tzinfo=UTC),
        message="Intacct refused the login (XL03000006): check sender_id and sender_password in intacct.yml",
    )
    runs.append(
        RunDetail(
            run=failed_login,
            calls=(
                ApiCallRecord(
                    sequence=1,
                    started_at=failed_login.started_at,
                    duration_ms=380.0,
                    url=ENDPOINT,
                    http_status=200,
                    outcome="auth_failed",
                    function_count=1,
                    attempt=1,
                    fault="XL03000006",
                    error="Incorrect Intacct XML Partner ID or password.",
                    request_xml="<request><control><senderid>acme_sender</senderid><password>***</password></control>"
                    "<operation><authentication><login><userid>sync_bot</userid><companyid>ACME-sandbox</companyid>"
                    "<password>***</password></login></authentication><content/></operation></request>",
                    response_xml="<response><control><status>failure</status></control><errormessage><error>"
                    "<errorno>XL03000006</errorno><description>Incorrect Intacct XML Partner ID or password."
                    "</description></error></errormessage></response>",
                ),
            ),
        )
    )
    return runs


def big_run(index: int, *, models: int = 10, rows_per_model: int = 1000, calls: int = 60) -> RunDetail:
    """A run of the size the report must survive: every row of every model rejected, many calls."""
    began = datetime(2025, 2, 1, tzinfo=UTC) + timedelta(hours=index)
    model_records = tuple(
        _model(f"model_{m}", "customer", "upsert", rejected=rows_per_model, api_transactions=3)
        for m in range(models)
    )
    rows = tuple(
        _row(f"model_{m}", f"K{m}-{r:05d}", "rejected", None, "NAME: 81 characters, the limit is 80", began)
        for m in range(models)
        for r in range(rows_per_model)
    )
    body = _customer_request([f"C-{n}" for n in range(60)])
    call_records = tuple(
        ApiCallRecord(
            sequence=n,
            started_at=began,
            duration_ms=900.0,
            url=ENDPOINT,
            http_status=200,
            outcome="transient" if n % 25 == 7 else "ok",
            function_count=50,
            attempt=1,
            fault=None,
            error=None,
            request_xml=body,
            response_xml=body,
        )
        for n in range(1, calls + 1)
    )
    record = RunRecord(
        run_id=f"big-{index:03d}",
        command="sync",
        target="prod",
        status="success",
        started_at=began,
        finished_at=began + timedelta(minutes=3),
        message=None,
        models=model_records,
    )
    return RunDetail(run=record, rows=rows, calls=call_records)


# -- helpers -------------------------------------------------------------------------------------------
def _page(runs: list[RunDetail], title: str = "dbt-intacct run report") -> tuple[str, lxml.html.HtmlElement]:
    html = render_report(runs, title=title, generated_at=GENERATED)
    return html, lxml.html.document_fromstring(html)


def _text(node: lxml.html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


def _run_section(doc: lxml.html.HtmlElement, run_id: str) -> lxml.html.HtmlElement:
    for section in doc.cssselect("section.run"):
        if _text(section.cssselect(".run-id")[0]) == run_id:
            return section
    raise AssertionError(f"no section for {run_id}")


# -- content -------------------------------------------------------------------------------------------
def test_overview_lists_every_run_newest_first_with_status_and_totals() -> None:
    _, doc = _page(realistic_runs())
    rows = doc.cssselect("#runs tbody tr")
    ids = [_text(row.cssselect("td")[0]) for row in rows]
    assert ids[0] == "20250306-0600-f5f3"
    assert ids[-1] == "20250301-0600-a0f3"
    assert "20250303-1412-adhoc" in ids
    assert len(ids) == 7
    newest = [_text(cell) for cell in rows[0].cssselect("td")]
    # run, status, started (to the minute), duration, target, created..pending, API transactions
    assert newest[1] == "error"
    assert newest[2] == "2025-03-06 06:15 UTC"
    assert newest[3] == "19.0 s"
    assert newest[4] == "prod"
    # created, updated, cleared, deleted, reversed, unchanged, rejected, failed, pending over the five models
    created, updated, unchanged = str(2 + 2 + 14 + 37 + 9), str(17 + 5), str(480 + 611)
    assert newest[5:14] == [created, updated, "0", "0", "0", unchanged, "2", "1", "0"]
    assert newest[14] == "6"
    # A run stopped by a refused login: its reason where the counts would be, not zeros.
    login = [_text(cell) for cell in rows[ids.index("20250303-1412-adhoc")].cssselect("td")]
    assert login[5:] == [
        "Intacct refused the login (XL03000006): check sender_id and sender_password in intacct.yml"
    ]


def test_run_section_shows_models_counts_and_rejected_rows_with_reasons() -> None:
    _, doc = _page(realistic_runs())
    section = _run_section(doc, "20250306-0600-f5f3")
    models = {
        _text(tr.cssselect("td")[0]): [_text(td) for td in tr.cssselect("td")]
        for tr in section.cssselect("table.models tbody tr")
        if tr.cssselect("td.mono")
    }
    assert models["intacct_customers"][1:4] == ["customer", "upsert", "success"]
    assert models["intacct_customers"][4:13] == ["2", "17", "0", "0", "0", "480", "0", "1", "0"]
    problems = [
        [_text(td) for td in tr.cssselect("td")] for tr in section.cssselect("table.problems tbody tr")
    ]
    assert problems[0][:5] == ["intacct_journal_entries", "JE-2025-03-05-017", "rejected", "create", ""]
    assert "the entry does not balance: debits 1200.00 ≠ credits 1150.00" in problems[0][5]
    assert problems[2][:5] == ["intacct_customers", "C-1056", "failed", "create", "BL34000061"]
    assert "dbt-intacct show 20250306-0600-f5f3" in _text(section)


def test_api_calls_show_timing_status_outcome_fault_and_readable_xml() -> None:
    _, doc = _page(realistic_runs())
    section = _run_section(doc, "20250306-0600-f5f3")
    calls = section.cssselect("details.call")
    assert len(calls) == 3
    cells = [_text(span) for span in calls[1].cssselect("summary > span")]
    assert cells == [
        "2",
        "2025-03-06 06:15:03 UTC",
        "1.8 s",
        "429",
        "transient",
        "GW-0010 rate limited",
        "intacct_customers",
        "create CUSTOMER \u00d73",
        "1",
    ]
    assert [_text(span) for span in calls[0].cssselect("summary > span")][6:8] == ["", "getAPISession"]
    assert "HTTP 429: too many requests" in _text(calls[1])
    assert "No response was received" in _text(calls[1])
    request = calls[2].cssselect("pre.request")[0].text_content()
    assert "\n  <control>\n" in request  # indented for reading
    assert "<CUSTOMERID>C-1056</CUSTOMERID>" in request
    response = calls[2].cssselect("pre.response")[0].text_content()
    assert "<errorno>BL34000061</errorno>" in response


def test_a_failed_run_shows_its_message_and_the_failed_login() -> None:
    _, doc = _page(realistic_runs())
    section = _run_section(doc, "20250303-1412-adhoc")
    assert "Intacct refused the login (XL03000006)" in _text(section.cssselect(".run-message")[0])
    assert "No model results recorded" in _text(section)
    assert section.get("data-problems") == "1"
    cells = [_text(span) for span in section.cssselect("details.call summary > span")]
    assert cells[3:6] == ["200", "auth_failed", "XL03000006"]


def test_a_running_run_and_an_empty_history() -> None:
    run = realistic_runs()[0]
    running = replace(run, run=replace(run.run, status="running", finished_at=None))
    _, doc = _page([running])
    assert _text(doc.cssselect("#runs tbody tr td")[3]) == "running"
    _html, doc = _page([])
    assert "No runs recorded yet" in _text(doc.body)
    assert not doc.cssselect("section.run")


# -- escaping and secrets ------------------------------------------------------------------------------
HOSTILE = '<script>alert("key")</script>'


def test_user_data_is_escaped_everywhere_it_appears() -> None:
    run = realistic_runs()[0]
    model = replace(run.run.models[0], name="<b>model</b>", message='<img src="http://127.0.0.1:9/x">')
    row = replace(
        _row("x", HOSTILE, "rejected", "<e>", 'NAME: "A & B" <i>is</i> too long', GENERATED),
        model_id=model.unique_id,
    )
    call = replace(run.calls[1], error="<svg onload=alert(1)>", fault='"><script>', url="http://x/<p>")
    hostile = RunDetail(
        run=replace(
            run.run,
            run_id='r1"><script>x()</script>',
            target="<t>",
            message="</style><script>",
            models=(model,),
        ),
        rows=(row,),
        calls=(call,),
    )
    html, doc = _page([hostile], title="<title>&")
    assert len(re.findall(r"<script\b", html, re.IGNORECASE)) == 1  # only the report's own script
    assert "<img" not in html and "<svg" not in html and "<b>model" not in html and "<i>is" not in html
    section = doc.cssselect("section.run")[0]
    assert _text(section.cssselect("table.problems td.key")[0]) == HOSTILE
    assert _text(section.cssselect("table.problems td.message")[0]) == 'NAME: "A & B" <i>is</i> too long'
    assert _text(section.cssselect(".run-id")[0]) == 'r1"><script>x()</script>'
    assert doc.cssselect("title")[0].text == "<title>&"
    assert "<svg onload=alert(1)>" in _text(section.cssselect(".call-error")[0])


def test_xml_bodies_are_escaped_and_redacted_again() -> None:
    run = realistic_runs()[0]
    leaked = replace(
        run.calls[0],
        request_xml="<request><login><password>hunter2-secret</password><user_password>pw-secret</user_password>"
        "</login><x>&lt;script&gt;</x></request>",
        response_xml="<response><sessionid>sess-secret-123",  # truncated: not well-formed
    )
    html, doc = _page([replace(run, calls=(leaked,))])
    assert "hunter2-secret" not in html and "pw-secret" not in html and "sess-secret-123" not in html
    request = doc.cssselect("pre.request")[0].text_content()
    assert "<password>***</password>" in request
    assert "<x>&lt;script&gt;</x>" in request  # still escaped as XML, shown as written
    assert doc.cssselect("pre.response")[0].text_content() == "<response><sessionid>***"


def test_page_fetches_nothing_and_only_its_own_inline_code_may_run() -> None:
    _html, doc = _page(realistic_runs())
    assert not doc.xpath("//*[@src] | //link | //img | //iframe | //object | //embed | //base")
    assert {a.get("href")[:1] for a in doc.xpath("//a[@href]")} == {"#"}
    style = doc.cssselect("style")[0].text
    script = doc.cssselect("script")[0].text
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "http" not in script
    policy = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "default-src 'none'" in policy

    def digest(text: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"style-src '{digest(style)}'" in policy
    assert f"script-src '{digest(script)}'" in policy


# -- caps and size -------------------------------------------------------------------------------------
def test_big_runs_are_capped_and_say_how_much_is_left_out() -> None:
    _html, doc = _page([big_run(1)])
    section = doc.cssselect("section.run")[0]
    assert len(section.cssselect("table.problems tbody tr")) == MAX_PROBLEM_ROWS_PER_RUN
    assert f"{10 * 1000 - MAX_PROBLEM_ROWS_PER_RUN} more rejected or failed rows not shown" in _text(section)
    calls = section.cssselect("details.call")
    # Alike consecutive calls are one line: 1-6 ok, 7 transient, 8-31 ok, 32, 33-56, 57, 58-60.
    shown = [_text(call.cssselect("summary > span")[0]) for call in calls]
    assert shown == ["1\u20136", "7", "8\u201331", "32", "33\u201356", "57", "58\u201360"]
    assert "create CUSTOMER \u00d760 \u00b7 24 calls" in _text(calls[2])
    assert "more API calls not shown" not in _text(section)
    request = calls[0].cssselect("pre.request")[0].text_content()
    assert len(request) < MAX_XML_CHARS + 100
    assert re.search(r"… [\d,]+ more characters not shown$", request)
    assert _text(doc.cssselect("#runs tbody tr td")[11]) == "10000"  # the rejected total is not capped


def test_fifty_big_runs_make_a_page_a_laptop_opens() -> None:
    runs = [big_run(i) for i in range(50)]
    began = time.perf_counter()
    html = render_report(runs, generated_at=GENERATED)
    assert time.perf_counter() - began < 20
    assert len(html.encode()) < 15_000_000
    assert html.count('<section class="run"') == 50


# -- determinism ---------------------------------------------------------------------------------------
def test_same_input_same_bytes_whatever_the_order_given() -> None:
    runs = realistic_runs()
    first = render_report(runs, generated_at=GENERATED)
    assert render_report(list(reversed(runs)), generated_at=GENERATED) == first
    assert render_report(runs, generated_at=GENERATED + timedelta(seconds=1)) != first


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2025, 3, 7, 9, 30), "2025-03-07 09:30:00"),
        (datetime(2025, 3, 7, 9, 30, tzinfo=UTC), "2025-03-07 09:30:00 UTC"),
        (datetime(2025, 3, 7, 1, 30, tzinfo=timezone(timedelta(hours=-8))), "2025-03-07 01:30:00 -0800"),
    ],
)
def test_generated_time_is_shown_with_its_zone(moment: datetime, shown: str) -> None:
    doc = lxml.html.document_fromstring(render_report([], generated_at=moment))
    assert f"Generated {shown}" in _text(doc.cssselect("p.meta")[0])


def test_a_big_sync_lists_its_sixty_alike_calls_as_one_line_with_model_and_function() -> None:
    run = big_run(1, calls=60)
    calls = tuple(replace(call, outcome="ok", model_id="model.finance.model_0") for call in run.calls)
    _html, doc = _page([replace(run, calls=calls)])
    (line,) = doc.cssselect("section.run details.call")
    cells = [_text(span) for span in line.cssselect("summary > span")]
    assert cells[0] == "1\u201360" and cells[4] == "ok"
    assert cells[6:8] == ["model_0", "create CUSTOMER \u00d760 \u00b7 60 calls"]
    assert "60 alike calls" in _text(line)


def test_updated_cleared_and_deleted_rows_are_listed() -> None:
    run = realistic_runs()[-2]
    at = run.run.started_at
    changed = (
        replace(_row("intacct_customers", "C-7", "ok", None, "", at), action="update", recordno="42"),
        replace(_row("intacct_customers", "C-8", "cleared", None, "", at), action="clear", recordno="43"),
        replace(_row("intacct_customers", "C-9", "ok", None, "", at), action="create", recordno="44"),
    )
    _html, doc = _page([replace(run, rows=run.rows + changed)])
    section = doc.cssselect("section.run")[0]
    rows = section.cssselect("table.changed tbody tr")
    listed = [[_text(td) for td in tr.cssselect("td")][:5] for tr in rows]
    assert listed == [
        ["intacct_customers", "C-7", "update", "ok", "42"],
        ["intacct_customers", "C-8", "clear", "cleared", "43"],
    ]
    # The models' counts say 22 rows were updated: the other 20 are named by `show`.
    assert "20 more updated, cleared, deleted or reversed rows not shown" in _text(section)


def test_calls_that_differ_are_capped_keeping_every_failed_one() -> None:
    run = big_run(1, calls=60)
    # Every other call is refused: sixty lines, each unlike its neighbours.
    calls = tuple(replace(call, outcome="transient" if n % 2 else "ok") for n, call in enumerate(run.calls))
    _html, doc = _page([replace(run, calls=calls)])
    lines = doc.cssselect("section.run details.call")
    assert len(lines) == MAX_CALLS_PER_RUN
    assert all(_text(line.cssselect("summary > span")[4]) == "transient" for line in lines)
    assert f"{60 - MAX_CALLS_PER_RUN} more API calls not shown" in _text(doc.cssselect("section.run")[0])
