"""Run by the Triton client's own interpreter (build/venv-triton: gevent has no place in the main
environment). Calls an Open Inference Protocol server over TLS with NVIDIA Triton's
`tritonclient.http.InferenceServerClient` in JSON mode (no binary tensor data) and prints one
JSON object with what it got.

    python triton_client_check.py HOST:PORT CA_FILE TOKEN MODEL INPUT DATATYPE SHAPE_JSON DATA_JSON

Triton's client sends no Content-Type with a JSON inference request; the harness refuses a body
whose type is not stated (415), so the header is passed with the token, as a caller must.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def main(argv: list[str]) -> dict:
    url, ca, token, model, name, datatype, shape, data = argv
    auth = {"Authorization": f"Bearer {token}"}
    client = httpclient.InferenceServerClient(
        url=url, ssl=True, ssl_options={"ca_certs": ca}, network_timeout=60
    )
    try:
        server = client.get_server_metadata(headers=auth)
        metadata = client.get_model_metadata(model, headers=auth)
        server_ready = client.is_server_ready(headers=auth)
        model_ready = client.is_model_ready(model, headers=auth)
        array = np.array(json.loads(data), dtype=object if datatype == "BYTES" else np.float32)
        array = array.reshape(json.loads(shape))
        item = httpclient.InferInput(name, list(array.shape), datatype)
        item.set_data_from_numpy(array, binary_data=False)
        wanted = [
            httpclient.InferRequestedOutput(o["name"], binary_data=False)
            for o in metadata["outputs"]
        ]
        json_headers = {**auth, "Content-Type": "application/json"}
        result = client.infer(model, [item], outputs=wanted, request_id="t1", headers=json_headers)
        outputs = {
            o["name"]: {
                "shape": list(result.as_numpy(o["name"]).shape),
                "datatype": o["datatype"],
                "data": result.as_numpy(o["name"]).ravel().tolist(),
            }
            for o in result.get_response()["outputs"]
        }
        try:
            client.infer(model, [item], outputs=wanted, headers=auth)
            untyped: object = None
        except InferenceServerException as exc:
            untyped = {"status": exc.status(), "message": exc.message()}
        try:
            client.get_model_metadata("no-such-model", headers=auth)
            unknown: object = None
        except InferenceServerException as exc:
            unknown = exc.status()
        return {
            "server": server,
            "metadata": metadata,
            "server_ready": server_ready,
            "model_ready": model_ready,
            "id": result.get_response().get("id"),
            "outputs": outputs,
            "untyped_infer": untyped,
            "unknown_model_status": unknown,
        }
    finally:
        client.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
