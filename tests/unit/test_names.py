"""Resource names, name validation and key escaping match DurableTask.AzureStorage (storage-layout.md §1)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_storage._names import (
    MAX_KEY_BYTES,
    TaskHubNames,
    blob_ownership,
    blob_url,
    escape_key,
    instance_blob_prefixes,
    unescape_key,
    validate_instance_id,
    validate_partition_count,
    validate_task_hub_name,
)
from durable_storage.errors import ConfigurationError, InvalidNameError

DATA = Path(__file__).resolve().parents[1] / "data" / "dotnet"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


KEYS = load("key-sanitation-vectors.json")
NAMING = load("naming-vectors.json")
# The .NET null-in/null-out vector has no Python counterpart: escape_key takes a str.
KEY_VECTORS = [v for v in KEYS["vectors"] if v["raw"] is not None]
FORBIDDEN_IN_KEYS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


# --- task hub names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "MyHub", "TestHubName", "h1234", "a" * 45, "Z9z"])
def test_a_task_hub_name_of_3_to_45_letters_or_digits_starting_with_a_letter_is_valid(name: str) -> None:
    assert validate_task_hub_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "ab", "a" * 46, "1hub", "my-hub", "my_hub", "my hub", "hübner", "hub٣", " abc", "abc\n", None, 123],
)
def test_any_other_task_hub_name_is_refused_naming_the_value_and_the_rule(name: object) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_task_hub_name(name)
    assert str(caught.value) == (
        f"task hub name {name!r} is invalid: must be 3-45 letters or digits, starting with a letter"
    )


def test_the_example_message_of_the_style_guide() -> None:
    with pytest.raises(ValueError, match=r"^task hub name 'ab' is invalid: must be 3-45 letters or digits, starting"):
        validate_task_hub_name("ab")


# --- partition count ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 4, 16])
def test_a_partition_count_from_1_to_16_is_valid(count: int) -> None:
    assert validate_partition_count(count) == count


@pytest.mark.parametrize("count", [0, 17, -1, True, False, 4.0, "4", None])
def test_any_other_partition_count_is_refused_naming_the_value_and_the_rule(count: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        validate_partition_count(count)
    assert str(caught.value) == f"partition count {count!r} is invalid: must be an integer from 1 to 16"


# --- resource names -------------------------------------------------------------------------------------------


def test_every_resource_name_of_a_task_hub() -> None:
    names = TaskHubNames("MyHub", 4)
    assert names.control_queue(0) == "myhub-control-00"
    assert names.control_queue(3) == "myhub-control-03"
    assert names.control_queues == ("myhub-control-00", "myhub-control-01", "myhub-control-02", "myhub-control-03")
    assert names.work_item_queue == "myhub-workitems"
    assert names.history_table == "MyHubHistory"
    assert names.instances_table == "MyHubInstances"
    assert names.partitions_table == "MyHubPartitions"
    assert names.large_messages_container == "myhub-largemessages"
    assert names.app_lease_container == "myhub-applease"


def test_sixteen_partitions_count_control_queues_up_to_15() -> None:
    assert TaskHubNames("hub", 16).control_queues[-1] == "hub-control-15"


@pytest.mark.parametrize("vector", NAMING["tableNames"]["vectors"][:1])
def test_table_names_match_the_dotnet_settings_test(vector: dict[str, Any]) -> None:
    # The second vector uses TrackingStoreNamePrefix, which we do not support.
    names = TaskHubNames(vector["TaskHubName"])
    assert (names.history_table, names.instances_table) == (vector["HistoryTableName"], vector["InstanceTableName"])


def test_the_default_partition_count_is_4() -> None:
    assert TaskHubNames("hub").partition_count == 4


def test_task_hub_names_validate_on_construction() -> None:
    with pytest.raises(InvalidNameError, match="task hub name 'a-b' is invalid"):
        TaskHubNames("a-b", 4)
    with pytest.raises(ConfigurationError, match="partition count 17 is invalid"):
        TaskHubNames("hub", 17)


@pytest.mark.parametrize("index", [-1, 4, True])
def test_a_control_queue_outside_the_partitions_is_an_index_error(index: int) -> None:
    with pytest.raises(IndexError, match=rf"partition index {index!r} is out of range: must be 0-3 for a hub of 4"):
        TaskHubNames("hub", 4).control_queue(index)


def test_derived_names_stay_valid_azure_names_for_the_longest_hub() -> None:
    names = TaskHubNames("H" * 45, 16)
    container_or_queue = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")
    for name in (*names.control_queues, names.work_item_queue, names.large_messages_container):
        assert container_or_queue.fullmatch(name), name
    for table in (names.history_table, names.instances_table, names.partitions_table):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,62}", table), table


# --- instance ID -> table key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", KEY_VECTORS, ids=lambda v: repr(v["raw"]))
def test_escaping_matches_every_dotnet_vector(vector: dict[str, Any]) -> None:
    assert escape_key(vector["raw"]) == vector["escaped"]
    assert unescape_key(vector["escaped"]) == vector["raw"]


@pytest.mark.parametrize(
    "vector", [v for v in KEYS["unescapeOnlyVectors"] if v["unescaped"] is not None], ids=lambda v: repr(v["escaped"])
)
def test_unescaping_accepts_what_dotnet_accepts_but_never_writes(vector: dict[str, Any]) -> None:
    assert unescape_key(vector["escaped"]) == vector["unescaped"]


def test_a_trailing_lone_escape_character_is_refused_naming_the_key() -> None:
    # .NET throws IndexOutOfRangeException here (the vectors file's null result).
    [vector] = [v for v in KEYS["unescapeOnlyVectors"] if v["unescaped"] is None]
    with pytest.raises(InvalidNameError) as caught:
        unescape_key(vector["escaped"])
    assert str(caught.value) == (
        "table key 'abc^' is invalid: ends in a lone '^', which must be followed by an escaped character"
    )


@pytest.mark.parametrize("key", ["^\U0001f600", "^\ue0bf"])
def test_an_escape_that_dotnet_would_turn_into_half_a_surrogate_pair_is_refused(key: str) -> None:
    with pytest.raises(InvalidNameError, match=r"is invalid: '\^' followed by U\+[0-9A-F]{4,5} does not unescape"):
        unescape_key(key)


@given(st.text())
def test_escaping_round_trips_any_text(instance_id: str) -> None:
    # st.text() includes control characters, '^' and non-BMP characters; it excludes lone surrogates.
    assert unescape_key(escape_key(instance_id)) == instance_id


@given(st.text(alphabet=st.sampled_from("^/\\#?\x00\x1f\x7f\x9f\xa0\xc0a\U0001f600")))
def test_escaping_round_trips_text_made_of_the_special_characters(instance_id: str) -> None:
    assert unescape_key(escape_key(instance_id)) == instance_id


# IDs made of the characters that make the two blob name spaces overlap: escapes, separators, generated leaves.
_OVERLAPPING_IDS = st.lists(st.sampled_from(["^", "/", "0", "a", "message-", "history-", "\\", "#"]), min_size=1).map(
    "".join
)


def _stored_blob_names(instance_id: str) -> list[str]:
    """A message blob (raw ID) and history blobs (escaped ID) of the instance, as storage-layout.md §2.3 and §3.4 name
    them and as the blob service lists them (a backslash turned into '/')."""
    escaped = escape_key(instance_id)
    return [
        f"{instance_id}/message-0123456789abcdef0123456789abcdef-ExecutionStarted.json.gz".replace("\\", "/"),
        f"{escaped}/history-0000000000000002-TaskCompleted-0A1B2C3D-Result.json.gz",
        f"{escaped}/history--Input-0A1B2C3D-Input.json.gz",
    ]


@given(_OVERLAPPING_IDS, _OVERLAPPING_IDS)
def test_a_payload_blob_is_never_taken_for_another_instances_by_its_name(owner: str, other: str) -> None:
    # None means "read the message inside", whose instance ID is exact.
    for name in _stored_blob_names(owner):
        assert blob_ownership(name, owner) in (True, None)
        assert name.startswith(instance_blob_prefixes(owner))
        if other != owner:
            assert blob_ownership(name, other) in (False, None), (name, other)


@pytest.mark.parametrize(
    ("name", "instance_id", "owned"),
    [
        ("pv^0b/history-0000000000000000-ExecutionStarted-0A1B2C3D-Input.json.gz", "pv^0b", False),  # pv/b's
        ("pv^0b/history-0000000000000000-ExecutionStarted-0A1B2C3D-Input.json.gz", "pv/b", True),
        ("pq/child/message-0123456789abcdef0123456789abcdef-ExecutionStarted.json.gz", "pq", False),
        ("pq/message-0123456789abcdef0123456789abcdef-ExecutionStarted.json.gz", "pq", True),
        ("a/b/message-0123456789abcdef0123456789abcdef-ExecutionStarted.json.gz", "a/b", None),  # or a\\b's
        ("a/b/message-0123456789abcdef0123456789abcdef-ExecutionStarted.json.gz", "a\\b", None),
        ("pq/other.json.gz", "pq", False),  # not a shape we write: nobody's, never deleted
        ("message-0123.json.gz", "", False),
    ],
)
def test_what_a_blob_name_says_of_its_owner(name: str, instance_id: str, owned: bool | None) -> None:
    assert blob_ownership(name, instance_id) is owned


def test_the_blob_prefixes_are_the_stored_raw_and_the_escaped_id_each_ending_in_a_slash() -> None:
    assert instance_blob_prefixes("pv/b") == ("pv/b/", "pv^0b/")
    assert instance_blob_prefixes("a\\b") == ("a/b/", "a^1b/")
    assert instance_blob_prefixes("plain") == ("plain/",)


@given(st.text())
def test_an_escaped_key_never_contains_a_character_azure_forbids_in_keys(instance_id: str) -> None:
    assert FORBIDDEN_IN_KEYS.search(escape_key(instance_id)) is None


# --- instance ID validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("instance_id", ["a", "abc/def#1?x", "tab\there", "\U0001f600", "@counter@xyz", "x" * 512])
def test_any_non_empty_text_within_1_kib_after_escaping_is_a_valid_instance_id(instance_id: str) -> None:
    validate_instance_id(instance_id)


def test_an_empty_instance_id_is_refused() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_instance_id("")
    assert str(caught.value) == "instance ID '' is invalid: must not be empty"


@pytest.mark.parametrize("instance_id", [None, 42, b"abc"])
def test_an_instance_id_that_is_not_a_str_is_refused(instance_id: object) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_instance_id(instance_id)
    assert str(caught.value) == f"instance ID {instance_id!r} is invalid: must be a str"


def test_an_instance_id_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_instance_id("abc\udc80")
    assert str(caught.value) == (
        "instance ID 'abc\\udc80' is invalid: must not contain lone surrogates (U+D800-U+DFFF)"
    )


def test_the_1_kib_limit_counts_utf16_bytes_of_the_escaped_key() -> None:
    validate_instance_id("x" * 512)  # 1024 bytes
    validate_instance_id("\U0001f600" * 256)  # two UTF-16 code units each: 1024 bytes
    with pytest.raises(InvalidNameError) as caught:
        validate_instance_id("/" * 257)  # escapes to '^0' * 257: 1028 bytes
    message = str(caught.value)
    assert message.startswith("instance ID '" + "/" * 40 + "'...")  # long values are shortened
    assert message.endswith(
        f"is invalid: its table key is 1028 bytes in UTF-16, must be at most {MAX_KEY_BYTES} (1 KiB) after escaping"
    )


def test_a_key_one_code_unit_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidNameError, match="its table key is 1026 bytes"):
        validate_instance_id("x" * 513)


# --- blob URLs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", NAMING["blobUrls"]["vectors"], ids=lambda v: v["blobName"])
def test_blob_urls_match_the_dotnet_message_manager_test(vector: dict[str, str]) -> None:
    assert blob_url(NAMING["blobUrls"]["containerUri"], vector["blobName"]) == vector["url"]


def test_blob_url_escapes_like_escape_data_string() -> None:
    # RFC 3986 unreserved characters are kept; everything else is UTF-8 percent-escaped, '/' separates segments.
    url = blob_url("https://a.blob.core.windows.net/c/", "a b/~x-y_z.0/é^😀")
    assert url == "https://a.blob.core.windows.net/c/a%20b/~x-y_z.0/%C3%A9%5E%F0%9F%98%80"


@pytest.mark.parametrize(
    ("blob_name", "rule"), [("", "must not be empty"), ("a\ud800", "must not contain lone surrogates")]
)
def test_an_unusable_blob_name_is_refused_naming_the_value_and_the_rule(blob_name: str, rule: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        blob_url("http://h/c", blob_name)
    assert str(caught.value).startswith(f"blob name {blob_name!r} is invalid: {rule}")
