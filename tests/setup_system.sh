#!/usr/bin/env bash
# System packages the integration tests use: headless Chromium and its driver (Debian).
# Idempotent and quick when already installed; never fatal on a laptop without apt.
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver for the page tests..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/tmp/earful-apt.log 2>&1 \
    || echo "could not install chromium (see /tmp/earful-apt.log); page tests will say so" >&2
else
  echo "chromium is not installed and apt-get is unavailable; page tests will say so" >&2
fi
exit 0
