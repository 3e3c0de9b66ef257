"""Templates are bounded in size and steps: a hostile template rejects its row at once; no hang, no gigabytes.

Every case renders through `map_row`, as a sync does, and must be rejected within a few seconds.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dbt_intacct.dbt.manifest import ManifestModel
from dbt_intacct.errors import RowRejected
from dbt_intacct.sync.mapping import map_row
from dbt_intacct.sync.spec import SpecProblems, SyncSpec, parse_specs
from dbt_intacct.sync.template_budget import MAX_TEMPLATE_CHARS, MAX_TEMPLATE_STEPS

FAST_SECONDS = 3.0

# Each case: a template that would hang, take gigabytes, or grow without bound, and what the reason says.
SIZE = "characters"
STEPS = "steps"
DIGITS = "digits"
ATTACKS = {
    "power of a power": ("[[ 9 ** (9 ** 10) ]]", DIGITS),
    "string times a billion": ("[[ 'a' * 10 ** 9 ]]", SIZE),
    "a billion times a string": ("[[ 10 ** 9 * 'a' ]]", SIZE),
    "list times a billion": ("[[ [0] * 10 ** 9 ]]", SIZE),
    "a list of shared big lists": ("[[ ([ [0] * 1000 ] * 1000) | length ]]", SIZE),
    "big int times big int": ("[% set n = 10 ** 4000 %][[ (n * n) | string | length ]]", DIGITS),
    "big int arithmetic in a loop": ("[% for a in 'x' * 90000 %][[ (7 ** 80000) % 3 ]][% endfor %]", DIGITS),
    "str.center": ("[[ 'a'.center(10 ** 9) ]]", SIZE),
    "str.ljust": ("[[ 'a'.ljust(10 ** 9) ]]", SIZE),
    "str.rjust": ("[[ 'a'.rjust(10 ** 9) ]]", SIZE),
    "str.zfill": ("[[ '1'.zfill(10 ** 9) ]]", SIZE),
    "str.expandtabs": ("[[ ('\t' * 1000).expandtabs(10 ** 6) ]]", SIZE),
    "str.replace": ("[[ ('a' * 1000).replace('a', 'b' * 100000) ]]", SIZE),
    "str.join": ("[[ ('x' * 90000).join('y' * 90000) ]]", SIZE),
    "str.translate": ("[[ ('a' * 1000).translate({97: 'x' * 100000}) ]]", SIZE),
    "str.format width": ("[[ '{:>1000000000}'.format(1) ]]", SIZE),
    "str.format nested width": ("[[ '{:>{w}}'.format(1, w=10 ** 9) ]]", SIZE),
    "str.format fill and width": ("[[ '{:0>1000000000}'.format(1) ]]", SIZE),
    "percent width": ("[[ '%1000000000d' % 1 ]]", SIZE),
    "percent precision": ("[[ '%.1000000000f' % 1.5 ]]", SIZE),
    "percent keyed width": ("[[ '%(a)1000000000s' % {'a': 1} ]]", SIZE),
    "bytes percent width": ("[[ '%1000000000d'.encode() % 1 ]]", SIZE),
    "percent star width": ("[[ '%*d' % (10 ** 9, 1) ]]", "'*' width"),
    "percent repeating a big argument": ("[[ ('%(a)s' * 20000) % {'a': 'x' * 99999} ]]", SIZE),
    "str.format repeating a big argument": ("[[ ('{0}' * 50000).format('x' * 99999) ]]", SIZE),
    "str.format_map repeating a big value": ("[[ ('{a}' * 30000).format_map({'a': 'x' * 99999}) ]]", SIZE),
    "filter format repeating a big argument": ("[[ ('%(a)s' * 20000) | format(a='x' * 99999) ]]", SIZE),
    "int.to_bytes": ("[[ (1).to_bytes(10 ** 9, 'big') ]]", SIZE),
    "concatenation doubling": (
        "[% set a = 'x' * 60000 %]" + "[% set a = a ~ a %]" * 30 + "[[ a | length ]]",
        SIZE,
    ),
    "addition doubling": (
        "[% set a = 'x' * 60000 %]" + "[% set a = a + a %]" * 30 + "[[ a | length ]]",
        SIZE,
    ),
    "filter center": ("[[ 'a' | center(10 ** 9) ]]", SIZE),
    "filter replace": ("[[ ('a' * 1000) | replace('a', 'b' * 100000) ]]", SIZE),
    "filter join": ("[[ ('y' * 90000) | join('x' * 90000) ]]", SIZE),
    "filter indent width": ("[[ 'a' | indent(10 ** 9, true) ]]", SIZE),
    "filter indent string": ("[[ ('\n' * 90000) | indent('x' * 90000, true, true) ]]", SIZE),
    "filter wordwrap": ("[[ ('a ' * 45000) | wordwrap(1, true, 'x' * 90000) ]]", SIZE),
    "filter format": ("[[ '%1000000000d' | format(1) ]]", SIZE),
    "filter batch": ("[[ 'a' | batch(10 ** 9, 'x') | list ]]", SIZE),
    "filter slice": ("[[ 'a' | slice(10 ** 9) | list ]]", SIZE),
    "filter round": ("[[ 1.5 | round(10 ** 9, 'floor') ]]", SIZE),
    "filter tojson indent": ("[[ [1] | tojson(10 ** 9) ]]", "indents by at most 16"),
    "filter sum of lists": ("[[ ([ [0] * 10 ] * 8000) | sum(start=[]) | length ]]", "sum"),
    "filter map to center": ("[[ ['a'] | map('center', 10 ** 9) | list ]]", SIZE),
    "rendered text": ("[% for a in 'x' * 1000 %][[ 'y' * 1000 ]][% endfor %]", SIZE),
    "nested loops": ("[% for a in 'x' * 50000 %][% for b in 'x' * 50000 %][% endfor %][% endfor %]", STEPS),
    "nested loops filtered out": (
        "[% for a in 'x' * 50000 %][% for b in 'x' * 50000 if false %][% endfor %][% endfor %]",
        STEPS,
    ),
    "exponential macro": (
        # Assigning `n` and `f` first passes the spec's check of the names a template reads.
        "[% set n = 0 %][% macro f(n) %][% if n %][[ f(n - 1) ]][[ f(n - 1) ]][% endif %][% endmacro %]"
        "[% set f = f %][[ f(60) ]]",
        STEPS,
    ),
    "comparisons of big lists in a loop": (
        "[% set l = ['x'] * 45000 %][% set m = ['x'] * 44999 + ['y'] %]"
        "[% for a in 'x' * 90000 %][% if l == m %]equal[% endif %][% endfor %]",
        STEPS,
    ),
    "membership in a big list in a loop": (
        "[% set l = ['x'] * 45000 %][% for a in 'x' * 90000 %][% if 'y' in l %]in[% endif %][% endfor %]",
        STEPS,
    ),
    "a long loop body": ("[% for a in 'x' * 90000 %]" + "[% set b = a %]" * 200 + "[% endfor %]", STEPS),
}

CUSTOMER = {
    "object": "customer",
    "mode": "upsert",
    "primary_key": "code",
    "mapping": {"CUSTOMERID": "code", "NAME": "name"},
}


def spec_with(template: str) -> SyncSpec:
    meta: dict[str, Any] = {
        **CUSTOMER,
        "mapping": {**CUSTOMER["mapping"], "COMMENTS": {"template": template}},
    }
    (spec,) = parse_specs(
        [
            ManifestModel(
                unique_id="model.proj.intacct_customers",
                name="intacct_customers",
                package_name="proj",
                database=None,
                schema="main",
                identifier="intacct_customers",
                original_file_path="models/intacct_customers.sql",
                meta=meta,
            )
        ]
    )
    return spec


def rendered(template: str, **row: Any) -> Any:
    return map_row(spec_with(template), {"code": "C1", "name": "One", **row}).values["COMMENTS"]


def rejection(template: str, **row: Any) -> str:
    """The reason the row is rejected; the rejection must come fast."""
    spec = spec_with(template)
    started = time.perf_counter()
    with pytest.raises(RowRejected) as caught:
        map_row(spec, {"code": "C1", "name": "One", **row})
    elapsed = time.perf_counter() - started
    assert elapsed < FAST_SECONDS, f"took {elapsed:.1f} s"
    assert caught.value.field == "COMMENTS"
    return caught.value.reason


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("template", "limit"), list(ATTACKS.values()), ids=list(ATTACKS))
def test_a_hostile_template_rejects_its_row_fast(template: str, limit: str) -> None:
    reason = rejection(template)
    assert reason.startswith("template exceeds a limit: ")
    assert limit in reason


def test_the_limits_are_exact_and_named() -> None:
    assert rendered(f"[[ 'a' * {MAX_TEMPLATE_CHARS} ]]") == "a" * MAX_TEMPLATE_CHARS
    reason = rejection(f"[[ 'a' * {MAX_TEMPLATE_CHARS + 1} ]]")
    assert f"more than {MAX_TEMPLATE_CHARS:,} characters" in reason
    reason = rejection("[% for a in 'x' * 90000 %][% for b in 'x' * 90000 %][% endfor %][% endfor %]")
    assert f"more than {MAX_TEMPLATE_STEPS:,} steps" in reason


@pytest.mark.timeout(30)
def test_a_huge_column_value_is_rejected_not_rendered() -> None:
    reason = rejection("[[ row.notes ]]", notes="n" * (MAX_TEMPLATE_CHARS + 1))
    assert SIZE in reason


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("[% set l = ['x'] %][% for i in 'x' * 64 %][[ l.extend(l) ]][% endfor %]", "unsafe"),
        ("[% set l = ['x'] %][% for i in 'x' * 64 %][[ l.append(l) ]][% endfor %]", "unsafe"),
        ("[% set range = range %][% for i in range(99999) %][[ i ]][% endfor %]", "'range' is undefined"),
        (
            "[% set namespace = namespace %][% set ns = namespace(s='x') %][[ ns.s ]]",
            "'namespace' is undefined",
        ),
    ],
)
def test_templates_cannot_mutate_values_or_reach_globals(template: str, message: str) -> None:
    reason = rejection(template)
    assert message in reason


def test_recursive_loops_are_refused_when_the_block_is_parsed() -> None:
    with pytest.raises(SpecProblems) as caught:
        spec_with("[% for x in row.name recursive %][[ x ]][% endfor %]")
    assert "recursive loops are not available in templates" in str(caught.value)


def test_ordinary_templates_render_as_before() -> None:
    lines = [{"memo": f"line {i}", "amount": i} for i in range(500)]
    assert rendered("from [[ row.source ]] ([[ row.region | lower ]])", source="erp", region="EMEA") == (
        "from erp (emea)"
    )
    assert rendered("[[ row.name ~ ' / ' ~ row.code ]][% if row.n > 3 %]!![% endif %]", n=4) == "One / C1!!"
    joined = rendered("[[ row.lines | map(attribute='memo') | join(', ') ]]", lines=lines)
    assert joined.startswith("line 0, line 1") and joined.endswith("line 499")
    looped = rendered("[% for l in row.lines %][[ l.memo ]]:[[ l.amount ]] [% endfor %]", lines=lines)
    assert looped.count(":") == 500
    assert rendered("[[ row.lines | sum(attribute='amount') ]]", lines=lines) == str(sum(range(500)))
    assert (
        rendered("[[ '%05.1f|%-4s|' % (3.14159, 'ab') ]][[ '{:>6,}'.format(12345) ]]") == "003.1|ab  |12,345"
    )
    assert rendered("[[ 'a,b' | replace(',', ';') | center(5) ]]") == " a;b "
    assert rendered("[[ (row.name * 3)[:5] ]]") == "OneOn"
    assert (
        rendered("[[ 2 ** 10 ]] [[ [1, 2] * 2 ]] [[ row.name.ljust(5, '.') ]]") == "1024 [1, 2, 1, 2] One.."
    )
