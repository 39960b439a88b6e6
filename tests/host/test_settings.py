"""Settings as the Functions host reads them: local.settings.json, host.json, AzureFunctionsJobHost__ overrides.

Pure: each test writes an app folder under tmp_path and passes a dict as the environment (functions-host.md §7).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from durable_storage._connection_settings import from_environment
from durable_storage.errors import ConfigurationError
from durable_storage.host._hostjson import parse_timespan
from durable_storage.host._settings import HostSettings, apply_local_settings, load_host_settings
from durable_storage.worker import WorkerOptions

SECRET = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net"


def write(folder: Path, name: str, document: object) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    (folder / name).write_text(text, encoding="utf-8")


def durable(storage: dict[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
    """A host.json with ``extensions.durableTask`` set to ``keys`` (and ``storageProvider``)."""
    if storage is not None:
        keys["storageProvider"] = storage
    return {"version": "2.0", "extensions": {"durableTask": keys}}


def load(folder: Path, host: object = None, environ: dict[str, str] | None = None) -> HostSettings:
    if host is not None:
        write(folder, "host.json", host)
    return load_host_settings(folder, environ or {})


def load_error(folder: Path, host: object = None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load(folder, host, environ)
    return str(caught.value)


def apply_error(folder: Path, local: object) -> str:
    write(folder, "local.settings.json", local)
    with pytest.raises(ConfigurationError) as caught:
        apply_local_settings(folder, {})
    return str(caught.value)


# --- local.settings.json ---------------------------------------------------------------------------------------


def test_values_become_environment_variables_before_the_app_is_imported(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"IsEncrypted": False, "Values": {"A": "1", "EMPTY": "", "Url": "x"}})
    environ: dict[str, str] = {"OTHER": "kept"}
    assert apply_local_settings(tmp_path, environ) == []
    assert environ == {"OTHER": "kept", "A": "1", "EMPTY": "", "Url": "x"}


def test_a_non_empty_environment_variable_wins_and_an_empty_one_is_replaced(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"Values": {"SET": "file", "BLANK": "file"}})
    environ = {"SET": "environment", "BLANK": ""}
    messages = apply_local_settings(tmp_path, environ)
    assert environ == {"SET": "environment", "BLANK": "file"}
    assert messages == ["Skipping 'SET' from local settings as it's already defined in the environment"]


def test_a_null_value_is_skipped_with_a_message(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"Values": {"NOTHING": None}})
    environ: dict[str, str] = {}
    assert apply_local_settings(tmp_path, environ) == ["Skipping 'NOTHING' from local settings: its value is null"]
    assert environ == {}


def test_no_local_settings_file_changes_nothing(tmp_path: Path) -> None:
    environ = {"A": "1"}
    assert apply_local_settings(tmp_path, environ) == []
    assert environ == {"A": "1"}


def test_is_encrypted_true_is_a_clear_error_because_dpapi_cannot_be_decrypted_here(tmp_path: Path) -> None:
    message = apply_error(tmp_path, {"IsEncrypted": True, "Values": {"AzureWebJobsStorage": "AQAAANCMnd8BFdERjHoAwE"}})
    assert "IsEncrypted: true" in message and "DPAPI" in message and "func settings decrypt" in message
    assert "AQAAANCMnd8" not in message


def test_a_missing_is_encrypted_is_read_as_plain_text_unlike_core_tools(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"Values": {"A": "plain"}})
    environ: dict[str, str] = {}
    apply_local_settings(tmp_path, environ)
    assert environ == {"A": "plain"}


@pytest.mark.parametrize(("value", "kind"), [(7071, "number"), (True, "boolean"), ({"k": SECRET}, "object")])
def test_a_non_string_value_is_an_error_naming_the_key_never_the_value(
    tmp_path: Path, value: object, kind: str
) -> None:
    message = apply_error(tmp_path, {"Values": {"MY_SETTING": value}})
    assert "Values.MY_SETTING" in message and f"not a JSON {kind}" in message and "local.settings.json" in message
    assert "AccountKey" not in message and "7071" not in message


def test_connection_strings_become_connection_strings_variables(tmp_path: Path) -> None:
    strings = {"Plain": SECRET, "Object": {"ConnectionString": "UseDevelopmentStorage=true", "ProviderName": "x"}}
    write(tmp_path, "local.settings.json", {"Values": {}, "ConnectionStrings": strings})
    environ: dict[str, str] = {}
    apply_local_settings(tmp_path, environ)
    assert environ == {"ConnectionStrings:Plain": SECRET, "ConnectionStrings:Object": "UseDevelopmentStorage=true"}
    message = apply_error(tmp_path, {"ConnectionStrings": {"Bad": {"ConnectionString": 5}}})
    assert "ConnectionStrings.Bad" in message and "value not shown" in message


def test_unknown_top_level_keys_are_listed_since_core_tools_reads_them_case_sensitively(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"values": {"A": SECRET}})
    environ: dict[str, str] = {}
    messages = apply_local_settings(tmp_path, environ)
    assert environ == {}
    assert len(messages) == 1 and "'values' is not known" in messages[0] and "Values" in messages[0]
    assert "AccountKey" not in messages[0]


@pytest.mark.parametrize("name", ["local.settings.json", "host.json"])
def test_invalid_json_is_an_error_naming_the_file_and_line(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, '{\n  "Values": {\n    "AzureWebJobsStorage": "' + SECRET + '"\n    "B": "2"\n  }\n}')
    with pytest.raises(ConfigurationError) as caught:
        apply_local_settings(tmp_path, {})
        load_host_settings(tmp_path, {})
    message = str(caught.value)
    assert name in message and "line 4" in message and "AccountKey" not in message


def test_comments_and_a_byte_order_mark_are_accepted_as_the_host_accepts_them(tmp_path: Path) -> None:
    text = '\ufeff{\n  // the hub\n  "extensions": {"durableTask": {"hubName": "Hub//Not/*A*/Comment"}} /* end */\n}'
    assert "Hub//Not/*A*/Comment" in load_error(tmp_path, text)  # the string is kept whole, then refused as a name
    settings = load(tmp_path, '\ufeff{\n  // the hub\n  "extensions": {"durableTask": {"hubName": "MyHub"}}\n}')
    assert settings.hub_name == "MyHub"


def test_local_http_port_is_the_default_port(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"Values": {}, "Host": {"LocalHttpPort": 7072}})
    assert load(tmp_path, {"version": "2.0"}).http_port == 7072
    write(tmp_path, "local.settings.json", {"Values": {}, "Host": {"localHttpPort": "70000"}})
    assert "Host.LocalHttpPort '70000' is invalid: must be a port, 1-65535" in load_error(tmp_path)
    write(tmp_path, "local.settings.json", {"Values": {}})
    assert load(tmp_path).http_port is None


def test_host_keys_other_than_the_port_are_listed(tmp_path: Path) -> None:
    write(tmp_path, "local.settings.json", {"Values": {}, "Host": {"LocalHttpPort": 7071, "CORS": "*"}})
    assert load(tmp_path, {"version": "2.0"}).warnings == (
        "local.settings.json Host.CORS is not supported here: ignored (use --host for the address)",
    )


def test_an_override_in_local_settings_counts_once_applied(tmp_path: Path) -> None:
    write(
        tmp_path, "local.settings.json", {"Values": {"AzureFunctionsJobHost__extensions__durableTask__hubName": "Lh"}}
    )
    environ: dict[str, str] = {}
    apply_local_settings(tmp_path, environ)
    assert "'Lh' is invalid" in load_error(tmp_path, {"version": "2.0"}, environ)


# --- the task hub ----------------------------------------------------------------------------------------------


def test_without_host_json_every_setting_has_its_default(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert (settings.hub_name, settings.hub_name_is_default, settings.partition_count) == ("TestHubName", True, None)
    assert (settings.route_prefix, settings.connection_setting, settings.script_file) == (
        "api",
        "AzureWebJobsStorage",
        "function_app.py",
    )
    assert (settings.worker_options, settings.host_id, settings.functions_allow_list) == ({}, None, None)
    assert settings.warnings == (f"{tmp_path / 'host.json'} not found: every host.json setting has its default",)


def test_the_hub_name_comes_from_host_json_with_setting_references_resolved(tmp_path: Path) -> None:
    assert load(tmp_path, durable(hubName="MyHub")).hub_name == "MyHub"
    settings = load(tmp_path, durable(hubName="%HubPrefix%V2"), {"hubprefix": "Orders"})
    assert (settings.hub_name, settings.hub_name_is_default) == ("OrdersV2", False)
    assert "refers to %Missing%, but no setting 'Missing' is set" in load_error(tmp_path, durable(hubName="%Missing%"))


@pytest.mark.parametrize("name", ["ab", "my-hub", "1hub", "", "x" * 46])
def test_an_explicit_hub_name_is_validated_and_named(tmp_path: Path, name: str) -> None:
    message = load_error(tmp_path, durable(hubName=name))
    assert f"host.json extensions.durableTask.hubName: task hub name {name!r} is invalid" in message


def test_a_hub_name_reference_to_a_secret_is_refused_without_showing_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, durable(hubName="%AzureWebJobsStorage%"), {"AzureWebJobsStorage": SECRET})
    assert "resolves to an invalid task hub name (value not shown)" in message and "AccountKey" not in message


@pytest.mark.parametrize(
    ("site", "hub"),
    [("my-app", "myapp"), ("1app", "t1app"), ("ab", "abHub"), ("--", "DefaultTaskHub"), ("a" * 60, "a" * 45)],
)
def test_the_default_hub_name_is_the_site_name_sanitised_as_the_extension_does(
    tmp_path: Path, site: str, hub: str
) -> None:
    settings = load(tmp_path, {"version": "2.0"}, {"WEBSITE_SITE_NAME": site})
    assert (settings.hub_name, settings.hub_name_is_default) == (hub, True)


@pytest.mark.parametrize(("value", "ok"), [(4, True), ("16", True), (1, True), (0, False), (17, False), ("x", False)])
def test_the_partition_count_is_1_to_16(tmp_path: Path, value: object, ok: bool) -> None:
    host = durable({"partitionCount": value})
    if ok:
        assert load(tmp_path, host).partition_count == int(str(value))
    else:
        message = load_error(tmp_path, host)
        assert f"storageProvider.partitionCount {value!r} is invalid: must be an integer from 1 to 16" in message


# --- worker options --------------------------------------------------------------------------------------------


def test_a_full_durable_task_section_maps_to_worker_options_that_are_accepted(tmp_path: Path) -> None:
    storage = {
        "connectionName": "Storage",
        "partitionCount": 8,
        "controlQueueVisibilityTimeout": "00:02:00",
        "workItemQueueVisibilityTimeout": "0.00:10:00",
        "maxQueuePollingInterval": "00:00:05",
        "controlQueueBatchSize": 16,
        "controlQueueBufferThreshold": 128,
        "useTablePartitionManagement": True,
        "fetchLargeMessagesAutomatically": True,
    }
    host = durable(
        storage,
        hubName="FullHub",
        maxConcurrentActivityFunctions=12,
        maxConcurrentOrchestratorFunctions="7",
        extendedSessionsEnabled=False,
        maxConcurrentEntityFunctions=5,
        tracing={"traceInputsAndOutputs": True},
    )
    host |= {"logging": {"logLevel": {"default": "Warning"}}, "extensionBundle": {"id": "x", "version": "[4.*, 5.0.0)"}}
    settings = load(tmp_path, host)
    assert settings.worker_options == {
        "max_concurrent_activities": 12,
        "max_concurrent_orchestrations": 7,
        "control_queue_visibility": 120.0,
        "work_item_visibility": 600.0,
        "max_polling_interval": 5.0,
    }
    options = WorkerOptions(**settings.worker_options)
    assert (options.max_concurrent_activities, options.max_polling_interval) == (12, 5.0)
    assert (settings.hub_name, settings.partition_count) == ("FullHub", 8)
    assert settings.warnings == (
        "host.json extensions.durableTask.maxConcurrentEntityFunctions is not a separate limit here: entity batches "
        "count against maxConcurrentOrchestratorFunctions",
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:30", 30), ("1.02:03:04", 93_784), ("00:05", 300), ("00:00:00.25", 0.25), (" 23:59:59 ", 86_399)],
)
def test_timespans_are_read_as_dotnet_reads_them(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("30", "a bare number means days"),
        ("24:00:00", "hours must be 0-23 (write 1.00:00:00"),
        ("00:60:00", "minutes and seconds must be 0-59"),
        ("5 minutes", "must be hh:mm:ss such as 00:00:30, or d.hh:mm:ss"),
        ("-00:00:30", "must be hh:mm:ss"),
    ],
)
def test_a_bad_timespan_is_an_error_naming_the_key_value_and_forms(tmp_path: Path, text: str, rule: str) -> None:
    message = load_error(tmp_path, durable({"maxQueuePollingInterval": text}))
    assert f"storageProvider.maxQueuePollingInterval: TimeSpan {text!r} is invalid" in message and rule in message


def test_a_timespan_must_be_a_string(tmp_path: Path) -> None:
    message = load_error(tmp_path, durable({"workItemQueueVisibilityTimeout": 30}))
    assert 'workItemQueueVisibilityTimeout 30 is invalid: must be a TimeSpan string such as "00:00:30"' in message


@pytest.mark.parametrize("value", ["00:00:59", "01:00:01"])
def test_the_control_queue_visibility_timeout_is_1_to_60_minutes_as_in_the_extension(
    tmp_path: Path, value: str
) -> None:
    message = load_error(tmp_path, durable({"controlQueueVisibilityTimeout": value}))
    assert f"controlQueueVisibilityTimeout {value!r} is invalid: must be from 00:01:00 to 01:00:00" in message


@pytest.mark.parametrize("value", [0, -1, "ten", True, 2.5])
def test_concurrency_limits_are_positive_integers(tmp_path: Path, value: object) -> None:
    message = load_error(tmp_path, durable(maxConcurrentActivityFunctions=value))
    assert f"maxConcurrentActivityFunctions {value!r} is invalid: must be an integer of at least 1" in message


def test_a_polling_interval_shorter_than_our_first_wait_lowers_that_wait(tmp_path: Path) -> None:
    settings = load(tmp_path, durable({"maxQueuePollingInterval": "00:00:00.01"}))
    assert settings.worker_options == {"max_polling_interval": 0.01, "min_polling_interval": 0.01}
    WorkerOptions(**settings.worker_options)
    assert "must be at least 00:00:00.001" in load_error(tmp_path, durable({"maxQueuePollingInterval": "00:00:00"}))


def test_extended_sessions_enabled_is_ignored_with_a_warning(tmp_path: Path) -> None:
    (warning,) = load(tmp_path, durable(extendedSessionsEnabled=True)).warnings
    assert warning.startswith("host.json extensions.durableTask.extendedSessionsEnabled is ignored: every episode")
    assert load(tmp_path, durable(extendedSessionsEnabled="False")).warnings == ()
    assert "must be true or false" in load_error(tmp_path, durable(extendedSessionsEnabled="yes"))


# --- overrides and case ----------------------------------------------------------------------------------------


def test_overrides_win_over_host_json_and_every_key_is_case_insensitive(tmp_path: Path) -> None:
    host = {"Extensions": {"DURABLETASK": {"HubName": "FileHub", "storageprovider": {"PARTITIONCOUNT": 2}}}}
    environ = {
        "AzureFunctionsJobHost__extensions__durableTask__hubName": "EnvHub",
        "azurefunctionsjobhost__EXTENSIONS__durabletask__StorageProvider__partitionCount": "3",
        "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "9",
    }
    settings = load(tmp_path, host, environ)
    assert (settings.hub_name, settings.partition_count, settings.worker_options) == (
        "EnvHub",
        3,
        {"max_concurrent_activities": 9},
    )
    assert settings.warnings == ()


def test_an_invalid_override_is_named_by_its_variable(tmp_path: Path) -> None:
    variable = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount"
    assert f"{variable} '99' is invalid" in load_error(tmp_path, {"version": "2.0"}, {variable: "99"})


# --- warnings --------------------------------------------------------------------------------------------------


def test_keys_we_accept_and_ignore_are_quiet(tmp_path: Path) -> None:
    host = durable(
        {"controlQueueBatchSize": 8, "type": "AzureStorage"},
        tracing={"distributedTracingEnabled": True},
        httpSettings={"defaultAsyncRequestSleepTimeMilliseconds": 1000},
        extendedSessionIdleTimeoutInSeconds=60,
    )
    host |= {"logging": {}, "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle"}, "singleton": {}}
    host["extensions"]["serviceBus"] = {"prefetchCount": 10}
    assert load(tmp_path, host).warnings == ()


def test_unknown_keys_are_warnings_with_a_hint_when_written_one_level_off(tmp_path: Path) -> None:
    host = durable({"partitionCont": 4, "hubName": "x"}, maxQueuePollingInterval="00:00:05")
    host["durableTask"] = {"hubName": "Old"}
    assert load(tmp_path, host).warnings == (
        "host.json durableTask is not a setting the Functions host knows (it belongs under extensions (the host.json "
        "2.0 layout)): ignored",
        "host.json extensions.durableTask.maxQueuePollingInterval is not a setting the Functions host knows (it "
        "belongs under storageProvider): ignored",
        "host.json extensions.durableTask.storageProvider.partitionCont is not a setting the Functions host knows: "
        "ignored",
        "host.json extensions.durableTask.storageProvider.hubName is not a setting the Functions host knows (it "
        "belongs directly under durableTask): ignored",
    )


def test_values_that_ask_for_behaviour_we_do_not_have_are_warnings(tmp_path: Path) -> None:
    host = durable(
        {"useTablePartitionManagement": False, "trackingStoreConnectionName": "Other"},
        notifications={"eventGrid": {"topicEndpoint": "https://x"}},
    )
    host |= {"functionTimeout": "00:05:00"}
    host["extensions"]["http"] = {"routePrefix": "api", "maxConcurrentRequests": 10}
    warnings = load(tmp_path, host).warnings
    assert [w.split(" is ")[0] for w in warnings] == [
        "host.json functionTimeout",
        "host.json extensions.durableTask.notifications",
        "host.json extensions.durableTask.storageProvider.useTablePartitionManagement",
        "host.json extensions.durableTask.storageProvider.trackingStoreConnectionName",
        "host.json extensions.http.maxConcurrentRequests",
    ]
    assert load(tmp_path, durable({"useTablePartitionManagement": True})).warnings == ()


def test_warnings_never_show_a_value(tmp_path: Path) -> None:
    host = durable({"connectionStrng": SECRET}, notifications={"eventGrid": {"keySettingName": SECRET}})
    host["mySecret"] = SECRET
    warnings = load(tmp_path, host, {"AzureFunctionsJobHost__extensions__durableTask__secretThing": SECRET}).warnings
    assert len(warnings) == 4 and not any("AccountKey" in w or "c2VjcmV0" in w for w in warnings)


# --- the rest of host.json -------------------------------------------------------------------------------------


def test_the_functions_allow_list_comes_from_host_json_or_its_overrides(tmp_path: Path) -> None:
    assert load(tmp_path, {"functions": ["Hello", "Start"]}).functions_allow_list == ("Hello", "Start")
    assert load(tmp_path, {"functions": []}).functions_allow_list is None
    environ = {"AzureFunctionsJobHost__functions__1": "Two", "AzureFunctionsJobHost__functions__0": "One"}
    assert load(tmp_path, {"version": "2.0"}, environ).functions_allow_list == ("One", "Two")
    assert "host.json functions 'Hello' is invalid: must be an array" in load_error(tmp_path, {"functions": "Hello"})
    assert "must be a string" in load_error(tmp_path, {"functions": [1]})


@pytest.mark.parametrize(("value", "ok"), [("my-host-1", True), ("My-Host", False), ("-a", False), ("a" * 33, False)])
def test_the_host_id_follows_the_host_rule(tmp_path: Path, value: str, ok: bool) -> None:
    if ok:
        assert load(tmp_path, {"id": value}).host_id == value
    else:
        assert f"host.json id {value!r} is invalid: a host ID must be 1-32" in load_error(tmp_path, {"id": value})


@pytest.mark.parametrize(("value", "prefix"), [("api", "api"), ("", ""), ("/v1/api/", "v1/api"), ("{x}", None)])
def test_the_route_prefix_comes_from_extensions_http(tmp_path: Path, value: str, prefix: str | None) -> None:
    host = {"extensions": {"http": {"routePrefix": value}}}
    if prefix is not None:
        assert load(tmp_path, host).route_prefix == prefix
    else:
        assert f"routePrefix {value!r} is invalid: must be a URL path" in load_error(tmp_path, host)


@pytest.mark.parametrize(
    ("name", "environ", "setting"),
    [
        (None, {}, "AzureWebJobsStorage"),
        ("Storage", {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}, "AzureWebJobsStorage"),
        ("MyStorage", {"MyStorage": "UseDevelopmentStorage=true"}, "MyStorage"),
        (
            "MyStorage",
            {"MyStorage": "x", "AzureWebJobsMyStorage": "UseDevelopmentStorage=true"},
            "AzureWebJobsMyStorage",
        ),
        ("MyStorage", {"MyStorage": "x", "ConnectionStrings:MyStorage": "y"}, "ConnectionStrings:MyStorage"),
        ("MyStorage", {"MyStorage__accountName": "acct"}, "MyStorage"),
        ("MyStorage", {}, "MyStorage"),
    ],
)
def test_the_connection_setting_is_found_as_webjobs_finds_connection_name(
    tmp_path: Path, name: str | None, environ: dict[str, str], setting: str
) -> None:
    settings = load(tmp_path, durable({} if name is None else {"connectionName": name}), environ)
    assert settings.connection_setting == setting


def test_identity_settings_under_a_connection_name_are_read_as_today(tmp_path: Path) -> None:
    environ = {"MyStorage__accountName": "acct", "MyStorage__credential": "managedidentity"}
    settings = load(tmp_path, durable({"connectionName": "MyStorage"}), environ)
    connection = from_environment(settings.connection_setting, environ)
    assert (connection.account_name, connection.auth, connection.credential) == ("acct", "identity", "managedidentity")


def test_a_connection_string_pasted_as_connection_name_is_refused_without_showing_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, durable({"connectionName": SECRET}))
    assert "connectionName is invalid: must be the name of a setting" in message and "AccountKey" not in message


def test_a_storage_provider_other_than_azure_storage_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, durable({"type": "mssql", "connectionStringName": "SQLDB_Connection"}))
    assert "storageProvider.type 'mssql' is not supported: durable_storage is the Azure Storage provider" in message


def test_the_script_file_is_python_script_file_name_inside_the_app(tmp_path: Path) -> None:
    assert load(tmp_path, {}, {"PYTHON_SCRIPT_FILE_NAME": "app.py"}).script_file == "app.py"
    message = load_error(tmp_path, {}, {"PYTHON_SCRIPT_FILE_NAME": "../elsewhere.py"})
    assert "PYTHON_SCRIPT_FILE_NAME '../elsewhere.py' is invalid: must be a .py file inside the app folder" in message


def test_host_json_must_hold_an_object(tmp_path: Path) -> None:
    assert "host.json is invalid: must hold a JSON object" in load_error(tmp_path, "[]")
