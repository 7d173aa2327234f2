"""Component-test fixtures live in tests/conftest.py (`run`, `registrations`).

`registrations` exposes what a registration carries besides its inputs (dependsOn, protect,
provider, component outputs), recorded by the same capturing monitor the offline plan uses.
"""
