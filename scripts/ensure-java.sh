#!/usr/bin/env bash
# Make sure a Java runtime (17) is on PATH: pyspark, which runs the Spark tests' local SparkSession, needs one.
# Installs openjdk-17-jre-headless from Debian's packages if `java` is missing.
set -euo pipefail
if ! command -v java >/dev/null 2>&1; then
  echo "==> installing Java 17 (Debian packages, for Spark)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # The JRE's post-install step creates man-page links; slim images lack the directory.
  $SUDO mkdir -p /usr/share/man/man1
  $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
command -v java >/dev/null 2>&1 || { echo "Java is not on PATH after installing openjdk-17-jre-headless" >&2; exit 1; }
echo "==> $(java -version 2>&1 | head -n 1)"
