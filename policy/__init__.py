"""gke-sandbox policy as code: the named rule set (`policy.rules`) and its CrossGuard pack.

`rules.py` is plain Python with no Pulumi or project imports, so the same functions back the
offline plan review (`python -m infra review`) and the CrossGuard pack (`pulumi preview
--policy-pack policy`), which loads `rules` as a sibling module of its `__main__.py`.
"""
