"""Bodies of the read and session functions the client sends itself (API.md sections 3 and 6).

Write functions (create, update, legacy create_* ...) are built per object by ``dbt_intacct.objects``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from lxml import etree

QUERY_MAX_PAGE_SIZE = 2000
QUERY_MAX_IN_VALUES = 1000
READ_BY_QUERY_MAX_PAGE_SIZE = 1000


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def get_api_session() -> etree._Element:
    """``<getAPISession/>``: the session takes the entity of the login that asks for it."""
    return etree.Element("getAPISession")


def in_filter(field: str, values: Sequence[str]) -> etree._Element:
    """``<in><field>F</field><value>v</value>...</in>`` for a ``query`` filter (at most 1000 values)."""
    if not values:
        raise ValueError("an <in> filter needs at least one value")
    if len(values) > QUERY_MAX_IN_VALUES:
        raise ValueError(f"an <in> filter takes at most {QUERY_MAX_IN_VALUES} values, got {len(values)}")
    element = etree.Element("in")
    _child(element, "field", field)
    for value in values:
        _child(element, "value", value)
    return element


def query(
    object_name: str,
    select: Sequence[str],
    *,
    filter: etree._Element | None = None,
    order_by: str | None = None,
    page_size: int = QUERY_MAX_PAGE_SIZE,
    offset: int = 0,
    show_private: bool = False,
) -> etree._Element:
    """A generic ``<query>`` for one page: ``select`` fields, an optional filter, ascending ``order_by``.

    ``filter`` is one operator element (``<in>``, ``<equalto>``, ``<and>`` ...); it is copied, so the
    caller may reuse it for the next page.
    """
    if not select:
        raise ValueError("a query must select at least one field (there is no '*' in query)")
    if not 1 <= page_size <= QUERY_MAX_PAGE_SIZE:
        raise ValueError(f"query page size must be 1 to {QUERY_MAX_PAGE_SIZE}, got {page_size}")
    if offset < 0:
        raise ValueError(f"query offset must not be negative, got {offset}")
    element = etree.Element("query")
    _child(element, "object", object_name)
    select_element = _child(element, "select")
    for field in select:
        _child(select_element, "field", field)
    if filter is not None:
        filter_element = _child(element, "filter")
        filter_element.append(copy.deepcopy(filter))
    if order_by is not None:
        order = _child(_child(element, "orderby"), "order")
        _child(order, "field", order_by)
        _child(order, "ascending")
    if show_private:
        _child(_child(element, "options"), "showprivate", "true")
    _child(element, "pagesize", str(page_size))
    _child(element, "offset", str(offset))
    return element


def read_by_query(
    object_name: str, fields: Sequence[str], query_text: str, *, page_size: int = READ_BY_QUERY_MAX_PAGE_SIZE
) -> etree._Element:
    """A ``<readByQuery>`` with a legacy query string (``CUSTOMERID = 'C1'``; empty reads everything).

    ``fields`` may be ``["*"]``. Quoting values inside ``query_text`` is the caller's job
    (single quotes escaped with a backslash, API.md section 6).
    """
    if not fields:
        raise ValueError("readByQuery needs at least one field, or '*'")
    if not 1 <= page_size <= READ_BY_QUERY_MAX_PAGE_SIZE:
        raise ValueError(f"readByQuery page size must be 1 to {READ_BY_QUERY_MAX_PAGE_SIZE}, got {page_size}")
    element = etree.Element("readByQuery")
    _child(element, "object", object_name)
    _child(element, "fields", ",".join(fields))
    _child(element, "query", query_text)
    _child(element, "pagesize", str(page_size))
    return element


def read_more(result_id: str) -> etree._Element:
    """``<readMore><resultId>..</resultId></readMore>``: the next page of a ``readByQuery``."""
    element = etree.Element("readMore")
    _child(element, "resultId", result_id)
    return element
