"""Error handling: automatic retries for transient failures, and compensation when a step fails for good.

The Durable Functions error-handling sample, a funds transfer: ``call_activity_with_retry`` with
``df.RetryOptions`` retries the debit and the credit (durable timers wait between attempts), and when the credit
still fails after its last attempt, the orchestrator catches the failure like any exception and compensates by
refunding the debit. The bank is simulated: its gateway times out on the first attempts of a debit, as the
transfer's ``gateway_timeouts`` says, and crediting a closed account always fails.

Run it with ``python -m samples.retries_and_compensation``: alice pays bob (the debit is retried twice, then goes
through) and carol (whose account is closed, so alice is refunded).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from typing import Any

import durable_storage as df
from samples import _run

app = df.App()

CLOSED_ACCOUNTS = frozenset({"carol"})
MAX_ATTEMPTS = 3
debit_attempts: Counter[str] = Counter()
"""Debit attempts per transfer, counted where the activities run (the simulated gateway's memory)."""


@app.orchestration_trigger(context_name="context")
def transfer_funds(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    transfer = context.get_input()
    retry_options = df.RetryOptions(
        first_retry_interval_in_milliseconds=transfer["retry_interval_ms"], max_number_of_attempts=MAX_ATTEMPTS
    )
    debit = {**transfer, "transfer_id": context.instance_id, "account": transfer["from"]}
    credit = {**transfer, "transfer_id": context.instance_id, "account": transfer["to"]}

    debited = yield context.call_activity_with_retry("debit_account", retry_options, debit)
    try:
        credited = yield context.call_activity_with_retry("credit_account", retry_options, credit)
    except df.TaskFailedError as failure:  # a subclass of Exception: `except Exception` works too
        # The credit failed on every attempt: undo the debit, so that no money is lost.
        refunded = yield context.call_activity("refund_account", debit)
        return {"status": "refunded", "debit": debited, "refund": refunded, "reason": failure.reason}
    return {"status": "transferred", "debit": debited, "credit": credited}


@app.activity_trigger(input_name="debit")
def debit_account(debit: dict[str, Any]) -> dict[str, Any]:
    """Takes the amount from the account; the gateway times out on the transfer's first attempts."""
    debit_attempts[debit["transfer_id"]] += 1
    attempt = debit_attempts[debit["transfer_id"]]
    if attempt <= debit["gateway_timeouts"]:
        raise ConnectionError(f"the bank's gateway timed out (attempt {attempt})")
    return {"account": debit["account"], "amount": -debit["amount"], "attempt": attempt}


@app.activity_trigger(input_name="credit")
def credit_account(credit: dict[str, Any]) -> dict[str, Any]:
    """Adds the amount to the account; a closed account refuses it."""
    if credit["account"] in CLOSED_ACCOUNTS:
        raise ValueError(f"account {credit['account']} is closed")
    return {"account": credit["account"], "amount": credit["amount"]}


@app.activity_trigger(input_name="debit")
def refund_account(debit: dict[str, Any]) -> dict[str, Any]:
    """Gives the debited amount back (the compensation of ``debit_account``)."""
    return {"account": debit["account"], "amount": debit["amount"]}


async def workload(
    client: df.DurableOrchestrationClient, *, retry_interval_ms: int = 1000, gateway_timeouts: int = 2
) -> bool:
    """Transfer alice's money to bob (retried debit) and to carol (compensated); True when both end as expected."""
    transfers = [
        {"from": "alice", "to": "bob", "amount": 100, "gateway_timeouts": gateway_timeouts},
        {"from": "alice", "to": "carol", "amount": 50, "gateway_timeouts": 0},
    ]
    ids = [
        await client.start_new("transfer_funds", client_input={**transfer, "retry_interval_ms": retry_interval_ms})
        for transfer in transfers
    ]
    statuses = await asyncio.gather(*(client.wait_for_completion(i, timeout=120, poll_interval=0.2) for i in ids))

    outcomes = []
    for transfer, status in zip(transfers, statuses, strict=True):
        route = f"{transfer['from']} -> {transfer['to']} {transfer['amount']}"
        result = status.output if status.runtime_status is df.OrchestrationRuntimeStatus.Completed else None
        if result is None:
            print(f"transfer {route}: {_run.describe(status)}")
        elif result["status"] == "transferred":
            attempt = result["debit"]["attempt"]
            print(f"retries: {route} transferred; the debit went through on attempt {attempt} of {MAX_ATTEMPTS}")
        else:
            print(
                f"compensation: {route} refunded to {result['refund']['account']}: "
                f"the credit failed {MAX_ATTEMPTS} times ({result['reason']})"
            )
        outcomes.append(result and result["status"])
    return outcomes == ["transferred", "refunded"]


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when bob was paid and alice's payment to carol refunded."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
