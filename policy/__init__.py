"""gke-sandbox policy as code: the judges.

`rules/` (the named plan-review rules), `access/` (who can decrypt the model), `rbac/`
(Kubernetes RBAC evaluator) and `facts.py` are plain Python with no Pulumi or program imports,
so the same functions back the offline review (`python -m infra review`) and the CrossGuard
pack (`__main__.py`, `pulumi preview --policy-pack policy`).
"""
