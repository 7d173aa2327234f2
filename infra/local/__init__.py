"""Local stand-ins for the cloud: fake-gcs-server, a KMS gRPC server, throwaway TLS, the stack."""
