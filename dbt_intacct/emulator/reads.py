"""Generic reads: read, readByName, readByQuery + readMore, and query.

Every call that returns a page spends one API transaction, whatever the number of rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lxml import etree

from dbt_intacct.emulator import gateway_errors as errors
from dbt_intacct.emulator.catalogue import ObjectSpec
from dbt_intacct.emulator.context import FunctionAnswer, FunctionContext, PendingPage, ResultSets
from dbt_intacct.emulator.fields import Field, FieldSelection, Record, field_at, project
from dbt_intacct.emulator.query import QueryError, compile_filter, compile_query_string, sort_key
from dbt_intacct.emulator.xmlio import child, child_text, write_value

READ_BY_QUERY_PAGE = (1, 1000)
QUERY_PAGE = (1, 2000)
DEFAULT_PAGE = 100


def _failed(message: str) -> errors.FunctionFailed:
    return errors.FunctionFailed(errors.GatewayError(errors.QUERY_FAILED, message, "", ""))


def _object(ctx: FunctionContext, element: etree._Element) -> ObjectSpec:
    name = child_text(element, "object") or ""
    spec = ctx.spec(name)
    if spec is None:
        raise _failed(f"Object definition {name or '(none)'} not found")
    return spec


def _resolver(ctx: FunctionContext, spec: ObjectSpec) -> Callable[[str], Field]:
    fields = ctx.catalogue.fields(spec)

    def resolve(path: str) -> Field:
        found = field_at(fields, path.upper())
        if found is None or not found.is_leaf:
            raise QueryError(f"{path} is not a field of {spec.name}")
        return found

    return resolve


def _selection(ctx: FunctionContext, spec: ObjectSpec, paths: list[str]) -> FieldSelection:
    if paths == ["*"]:
        return FieldSelection(everything=True)
    fields = ctx.catalogue.fields(spec)
    for path in paths:
        if field_at(fields, path) is None:
            raise _failed(f"Field {path} is not a field of {spec.name}")
    return FieldSelection(everything=False, paths=tuple(paths))


def _field_list(element: etree._Element) -> list[str]:
    text = child_text(element, "fields")
    if not text:
        return ["*"]
    return [part.strip().upper() if part.strip() != "*" else "*" for part in text.split(",") if part.strip()]


def _records(
    ctx: FunctionContext, spec: ObjectSpec, element: etree._Element | None = None, show_private: bool = False
) -> list[Record]:
    """The object's records this session sees; a ``<docparid>`` in the query scopes SODOCUMENT to one
    transaction definition."""
    if spec.reference_table is not None:
        rows = ctx.catalogue.reference.tables[spec.reference_table].values()
        return [{"RECORDNO": str(number), **row} for number, row in enumerate(rows, start=1)]
    records = [record for record in ctx.store.all(spec.name) if ctx.visible(record, show_private)]
    docparid = (child_text(element, "docparid") or "") if element is not None else ""
    if docparid and spec.name == "SODOCUMENT":
        return [record for record in records if record.get("DOCPARID") == docparid]
    return records


def _check_format(element: etree._Element) -> None:
    form = child_text(element, "returnFormat")
    if form and form.lower() != "xml":
        raise _failed(f"returnFormat {form} is not supported by the emulator; use xml")


def _page_size(element: etree._Element, bounds: tuple[int, int]) -> int:
    text = child_text(element, "pagesize")
    if not text:
        return DEFAULT_PAGE
    if not text.isdigit() or not bounds[0] <= int(text) <= bounds[1]:
        raise _failed(f"pagesize must be a whole number from {bounds[0]} to {bounds[1]}, not '{text}'")
    return int(text)


def _rows(
    data: etree._Element, tag: str, records: list[Record] | tuple[Record, ...], selection: FieldSelection
) -> None:
    for record in records:
        write_value(data, tag, project(record, selection))


def _by_keys(ctx: FunctionContext, element: etree._Element, by_name: bool) -> FunctionAnswer:
    _check_format(element)
    spec = _object(ctx, element)
    if by_name and spec.id_field is None:
        raise _failed(f"readByName is not available for {spec.name}: it has no name field; use read")
    selection = _selection(ctx, spec, _field_list(element))
    keys = [key.strip() for key in (child_text(element, "keys") or "").split(",") if key.strip()]
    found: list[Record] = []
    if spec.reference_table is not None:
        field = spec.id_field if by_name else "RECORDNO"
        wanted = set(keys)
        found = [record for record in _records(ctx, spec) if record.get(field or "") in wanted]
    else:
        for key in keys:
            if by_name:
                record = ctx.store.get_by_natural_id(spec.name, key)
            else:
                record = ctx.store.get(spec.name, int(key)) if key.isdigit() else None
            if ctx.visible(record):
                assert record is not None
                found.append(record)
    data = etree.Element("data", listtype=spec.name, count=str(len(found)))
    _rows(data, spec.name, found, selection)
    return FunctionAnswer(billable=1, data=data)


def read(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<read>``: records by RECORDNO; keys that do not exist are left out."""
    return _by_keys(ctx, element, by_name=False)


def read_by_name(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<readByName>``: records by their ID field (CUSTOMERID, CONTACTNAME, DOCID ...)."""
    return _by_keys(ctx, element, by_name=True)


def _page_data(result_sets: ResultSets, page: PendingPage, listtype: str) -> etree._Element:
    shown, rest = page.records[: page.pagesize], page.records[page.pagesize :]
    result_id = ""
    if rest:
        result_id = result_sets.open(
            PendingPage(page.spec, page.selection, rest, page.pagesize, page.totalcount, page.expires_at)
        )
    data = etree.Element(
        "data",
        listtype=listtype,
        count=str(len(shown)),
        totalcount=str(page.totalcount),
        numremaining=str(len(rest)),
        resultId=result_id,
    )
    _rows(data, listtype, shown, page.selection)
    return data


def read_by_query(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<readByQuery>``: the legacy query string, paged; the rest waits for readMore."""
    _check_format(element)
    spec = _object(ctx, element)
    selection = _selection(ctx, spec, _field_list(element))
    pagesize = _page_size(element, READ_BY_QUERY_PAGE)
    try:
        predicate = compile_query_string(child_text(element, "query") or "", _resolver(ctx, spec))
    except QueryError as exc:
        raise _failed(f"Invalid query for {spec.name}: {exc}") from exc
    matched = tuple(record for record in _records(ctx, spec, element) if predicate(record))
    page = PendingPage(
        spec, selection, matched, pagesize, len(matched), time.monotonic() + ResultSets.LIFETIME_SECONDS
    )
    return FunctionAnswer(billable=1, data=_page_data(ctx.result_sets, page, spec.name.lower()))


def read_more(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<readMore><resultId>..</resultId></readMore>``: the next page of a readByQuery."""
    result_id = child_text(element, "resultId") or ""
    page = ctx.result_sets.take(result_id)
    if page is None:
        raise _failed(f"There is no open result with resultId '{result_id}' (unknown, used up or expired)")
    return FunctionAnswer(billable=1, data=_page_data(ctx.result_sets, page, page.spec.name.lower()))


def _flag(element: etree._Element | None, name: str) -> bool:
    if element is None:
        return False
    return (child_text(element, name) or "").lower() == "true"


def query(ctx: FunctionContext, element: etree._Element) -> FunctionAnswer:
    """``<query>``: structured filter, selected fields, order, and offset paging."""
    spec = _object(ctx, element)
    select = child(element, "select")
    paths = (
        [(node.text or "").strip().upper() for node in select if node.tag == "field"]
        if select is not None
        else []
    )
    if not paths or "*" in paths:
        raise _failed("<select> must list one or more <field> elements (there is no * in query)")
    selection = _selection(ctx, spec, paths)
    options = child(element, "options")
    resolver = _resolver(ctx, spec)
    try:
        predicate = compile_filter(child(element, "filter"), resolver, _flag(options, "caseinsensitive"))
        orders = []
        orderby = child(element, "orderby")
        for order in orderby if orderby is not None else []:
            path = (child_text(order, "field") or "").upper()
            orders.append((sort_key(resolver(path), path), child(order, "descending") is not None))
    except QueryError as exc:
        raise _failed(f"Invalid query for {spec.name}: {exc}") from exc
    pagesize = _page_size(element, QUERY_PAGE)
    offset_text = child_text(element, "offset") or "0"
    if not offset_text.isdigit():
        raise _failed(f"offset must be a whole number of 0 or more, not '{offset_text}'")
    offset = int(offset_text)
    show_private = _flag(options, "showprivate")
    matched = [record for record in _records(ctx, spec, element, show_private) if predicate(record)]
    for key, descending in reversed(orders):
        matched.sort(key=key, reverse=descending)
    shown = matched[offset : offset + pagesize]
    data = etree.Element(
        "data",
        listtype=spec.name,
        totalcount=str(len(matched)),
        offset=str(offset),
        count=str(len(shown)),
        numremaining=str(max(0, len(matched) - offset - len(shown))),
    )
    _rows(data, spec.name, shown, selection)
    return FunctionAnswer(billable=1, data=data)
