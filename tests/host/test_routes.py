"""Route templates as the Functions host (ASP.NET Core) reads them: parameters, constraints, optional, catch-all."""

from __future__ import annotations

import pytest

from durable_storage.errors import ConfigurationError
from durable_storage.host._routes import RouteTemplate


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("orchestrators/{functionName}", "orchestrators/hello", {"functionName": "hello"}),
        ("orchestrators/{functionName}", "Orchestrators/hello/", {"functionName": "hello"}),  # literal: any case
        ("orchestrators/{functionName}", "orchestrators", None),
        ("orders/{id:int}", "orders/12", {"id": "12"}),
        ("orders/{id:int}", "orders/-3", {"id": "-3"}),
        ("orders/{id:int}", "orders/twelve", None),
        ("orders/{id:int}", "orders/99999999999", None),  # beyond int32
        ("orders/{id:long}", "orders/99999999999", {"id": "99999999999"}),
        ("hello/{name?}", "hello", {}),
        ("hello/{name?}", "hello/ada", {"name": "ada"}),
        ("items/{kind=all}", "items", {"kind": "all"}),
        ("files/{*rest}", "files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{*rest}", "files", {}),
        ("{name}.{ext}", "a.b.txt", {"name": "a.b", "ext": "txt"}),
        ("x/{n:int:range(1,5)}", "x/3", {"n": "3"}),
        ("x/{n:int:range(1,5)}", "x/9", None),
        ("x/{n:min(10)}", "x/9", None),
        ("x/{n:max(10)}", "x/9", {"n": "9"}),
        ("x/{s:minlength(3)}", "x/ab", None),
        ("x/{s:length(2,3)}", "x/abc", {"s": "abc"}),
        ("x/{s:alpha}", "x/ab1", None),
        ("x/{b:bool}", "x/True", {"b": "True"}),
        ("x/{g:guid}", "x/7f9b3c1e-0d2a-4b5c-9e8f-1a2b3c4d5e6f", {"g": "7f9b3c1e-0d2a-4b5c-9e8f-1a2b3c4d5e6f"}),
        ("x/{g:guid}", "x/nope", None),
        ("x/{d:datetime}", "x/2024-05-01", {"d": "2024-05-01"}),
        ("x/{f:double}", "x/1.5e3", {"f": "1.5e3"}),
        ("x/{code:regex(^[a-z]+-\\d+$)}", "x/ab-12", {"code": "ab-12"}),
        ("x/{code:regex(^[a-z]+-\\d+$)}", "x/12", None),
        ("x/{id:int?}", "x", {}),
        ("", "", {}),
        ("", "anything", None),
    ],
)
def test_a_template_matches_as_the_functions_host_would(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert RouteTemplate(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("x/{id:nosuch}", "nosuch"),
        ("x/{id:min(a)}", "min(a)"),
        ("x/{id}/{ID}", "appears twice"),
        ("x/{*rest}/y", "catch-all"),
        ("x//y", "empty segment"),
        ("x/{a}-{b?}", "cannot be optional"),
        ("x/{9lives}", "{9lives}"),
        ("x/{code:regex([)}", "regex"),
    ],
)
def test_a_malformed_template_is_refused_naming_the_fault(template: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match="route") as refused:
        RouteTemplate(template)
    assert named in str(refused.value)
    assert template in str(refused.value)


def test_precedence_prefers_literal_segments_and_puts_catch_alls_last() -> None:
    assert RouteTemplate("a/b/{c}").literal_segments == 2
    assert RouteTemplate("a/{b}/{c}").literal_segments == 1
    assert RouteTemplate("a/{*rest}").has_catch_all
    assert not RouteTemplate("a/{rest?}").has_catch_all
