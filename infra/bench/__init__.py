"""The benchmarks behind `make bench` (`python -m infra bench`), one module per figure.

- `bench`: the verb itself (arguments, which figures run, the results document);
- `crypto`: (a) seal and unseal throughput next to openssl on the same bytes;
- `loading`: (b) peak RSS growth while the harness loads a model, and (c) cold start;
- `serving`: (d) /predict over TLS at several concurrencies against the raw model;
- `planning`: (e) offline plan time as the number of tenants grows;
- `probe`: the fresh child processes that (b) and (e) measure in;
- `common`, `report`: parameters, machine facts, statistics, models, the results table.

Nothing here is a test: the numbers are measured, written to `build/bench/results.json`
and compared with their targets there; tests only check the document's shape.
"""
