import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, client: str, res: func.Out[func.HttpResponse]) -> None:
    durable = df.DurableOrchestrationClient(client)
    entity = df.EntityId("Counter", req.route_params["key"])
    if req.method == "POST":
        await durable.signal_entity(entity, "add", req.get_json()["amount"])
        res.set(func.HttpResponse(status_code=202))
        return
    state = await durable.read_entity_state(entity)
    if not state.entity_exists:
        res.set(func.HttpResponse("no such counter", status_code=404))
        return
    res.set(func.HttpResponse(json.dumps({"value": state.entity_state}), mimetype="application/json"))
