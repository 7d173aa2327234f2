"""Typed stack config, read once, validated with errors that name the key.

- `schema`: parts, the blocks each part reads, enums and the frozen dataclasses;
- `patterns`: the naming rules values must follow (platform facts come from policy.facts);
- `reader`: a mapping that names its keys and rejects keys nobody read, plus shared readers;
- `blocks`: one parser per `gke-sandbox:<block>`;
- `checks`: what only two blocks together can show;
- `stack`: `parse()`, the whole stack config.

The names below are the package's interface (`from infra.config import StackConfig, parse`).
"""

from infra.config.schema import (
    BLOCKS,
    KNOWN_BLOCKS,
    NAMESPACE,
    OPTIONAL_BLOCKS,
    SEALED_OPTIONAL_METADATA,
    SEALED_REQUIRED_METADATA,
    SECRET_KEYS,
    AttestorConfig,
    AttestorKeyKind,
    AuthorizedNetwork,
    AutoscalingConfig,
    ClusterAccess,
    ClusterConfig,
    ConfidentialType,
    DenyPolicyConfig,
    DisruptionBudgetConfig,
    ExtraGrant,
    GatekeeperConfig,
    HarnessConfig,
    HarnessSizing,
    ModelConfig,
    Part,
    PerimeterConfig,
    ProtectionLevel,
    Quota,
    ReleaseChannel,
    SandboxConfig,
    SealedObjectConfig,
    SpaceConfig,
    StackConfig,
    TenantConfig,
    WhenUnsatisfiable,
    WorkloadConfig,
    ZoneSpreadConfig,
)
from infra.config.stack import parse

__all__ = [
    "BLOCKS",
    "KNOWN_BLOCKS",
    "NAMESPACE",
    "OPTIONAL_BLOCKS",
    "SEALED_OPTIONAL_METADATA",
    "SEALED_REQUIRED_METADATA",
    "SECRET_KEYS",
    "AttestorConfig",
    "AttestorKeyKind",
    "AuthorizedNetwork",
    "AutoscalingConfig",
    "ClusterAccess",
    "ClusterConfig",
    "ConfidentialType",
    "DenyPolicyConfig",
    "DisruptionBudgetConfig",
    "ExtraGrant",
    "GatekeeperConfig",
    "HarnessConfig",
    "HarnessSizing",
    "ModelConfig",
    "Part",
    "PerimeterConfig",
    "ProtectionLevel",
    "Quota",
    "ReleaseChannel",
    "SandboxConfig",
    "SealedObjectConfig",
    "SpaceConfig",
    "StackConfig",
    "TenantConfig",
    "WhenUnsatisfiable",
    "WorkloadConfig",
    "ZoneSpreadConfig",
    "parse",
]
