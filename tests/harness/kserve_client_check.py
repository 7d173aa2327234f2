"""Run by the kserve client's own interpreter (a separate venv: kserve 0.21 needs protobuf 6,
the main environment pins 5.29). Calls an Open Inference Protocol server with kserve's
`InferenceRESTClient` and prints one JSON object with what it got.

    python kserve_client_check.py BASE_URL TOKEN MODEL INPUT_NAME DATATYPE SHAPE_JSON DATA_JSON

Over https, `CLIENT_CA` names the CA file to verify the server with. kserve 0.21's client has
no metadata calls, so server and model metadata are fetched with httpx (the client's own
HTTP library, same TLS settings) and validated with kserve's own v2 data models.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.rest.v2_datamodels import ModelMetadataResponse, ServerMetadataResponse


async def main(argv: list[str]) -> dict:
    base_url, token, model, name, datatype, shape, data = argv
    headers = {"Authorization": f"Bearer {token}"}
    verify: str | bool = os.environ.get("CLIENT_CA") or True
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=1, timeout=30, verify=verify))
    async with httpx.AsyncClient(verify=verify, timeout=30) as plain:
        server = await plain.get(f"{base_url}/v2", headers=headers)
        metadata = await plain.get(f"{base_url}/v2/models/{model}", headers=headers)
    server_meta = ServerMetadataResponse.model_validate(server.raise_for_status().json())
    model_meta = ModelMetadataResponse.model_validate(metadata.raise_for_status().json())
    try:
        live = await client.is_server_live(base_url, headers=headers)
        ready = await client.is_server_ready(base_url, headers=headers)
        model_ready = await client.is_model_ready(base_url, model, headers=headers)
        array = np.array(json.loads(data), dtype=object if datatype == "BYTES" else None)
        array = array.reshape(json.loads(shape))
        if datatype == "FP32":
            array = array.astype(np.float32)
        item = InferInput(name=name, shape=list(array.shape), datatype=datatype)
        item.set_data_from_numpy(array, binary_data=False)
        response = await client.infer(
            base_url,
            InferRequest(model_name=model, infer_inputs=[item], request_id="k1"),
            model_name=model,
            headers=headers,
        )
        outputs = {
            out.name: {
                "shape": list(out.shape),
                "datatype": out.datatype,
                "data": out.as_numpy().ravel().tolist(),
            }
            for out in response.outputs
        }
        try:
            await client.infer(
                base_url,
                InferRequest(model_name="nope", infer_inputs=[item]),
                model_name="nope",
                headers=headers,
            )
            unknown = None
        except Exception as exc:  # httpx.HTTPStatusError
            unknown = getattr(getattr(exc, "response", None), "status_code", repr(exc))
        return {
            "server": server_meta.model_dump(),
            "metadata": model_meta.model_dump(),
            "live": live,
            "ready": ready,
            "model_ready": model_ready,
            "id": response.id,
            "outputs": outputs,
            "unknown_model_status": unknown,
        }
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
