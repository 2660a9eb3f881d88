"""The specs, one module per area of the client API. Importing this package registers all of them."""

from conformance.specs import (  # noqa: F401 - imported for their registrations
    aliases_databases, cluster, collections, data, indexes, loading, partitions, rbac, search,
)
