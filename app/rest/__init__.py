"""Altinn Storage's own REST calls, answered the way Altinn answers them: a thin edge that
translates each call into the filter, the read predicate and the InstanceActions that GraphQL
uses, and renders the documents in Altinn's API JSON form."""
