"""Compiled execution of the queries the API serves: `instances` and `instance(id)` pages turned
straight from the stored documents into the response, without a tree of Strawberry objects and
graphql-core's work per field.

- plan.py: a query operation as a plan (the fields of each selection set, as the general
  executor collects them);
- codegen.py: Python code generated for a plan, compiled once;
- leaves.py: the helpers that code reads stored values with;
- runtime.py: running a plan for one request;
- execution.py: the schema extension that answers with plans, and their cache.

Whatever a plan does not cover goes to the general executor, which answers as it always did.
"""
