#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder's image (Ubuntu).
# chatgrade is a static Go binary shipped in the zip: it needs nothing.
# The students' programs need their language: python3 here; add a JDK or
# a compiler for other languages.
set -eu
apt-get update
apt-get install -y --no-install-recommends python3
