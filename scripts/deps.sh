#!/bin/sh
# Installs what building and testing sinew needs on Debian (12 or later).
set -e
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake libtool pkg-config \
    libcriterion-dev libzmq3-dev libsodium-dev python3-zmq \
    clang libclang-rt-dev asciidoctor
