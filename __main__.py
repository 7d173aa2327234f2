"""Pulumi entry point (Pulumi.yaml runs this file); the program lives in infra/program.py."""

from infra.program import main

main()
