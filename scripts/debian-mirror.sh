# Sourced by the scripts that fetch Debian packages (install-deps.sh,
# guest-images.sh). debian_mirror prints a Debian mirror URI taken from the
# machine's own apt sources (deb822 *.sources, then the one-line sources.list),
# so nothing names a fixed host. The security archive is skipped; among the
# rest a URI ending in /debian is preferred, since other vendors' repositories
# may be listed too. Prints nothing when no source is found.
debian_mirror() {
  local uris=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uris=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -f /etc/apt/sources.list ]; then
    uris="$uris
$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file|ftp):/) {print $i; break}}' \
      /etc/apt/sources.list)"
  fi
  uris=$(printf '%s\n' "$uris" | grep -v -e security -e '^$' || true)
  local preferred
  preferred=$(printf '%s\n' "$uris" | grep -E '/debian/?$' | head -n 1 || true)
  if [ -n "$preferred" ]; then
    printf '%s' "$preferred"
  else
    printf '%s' "$(printf '%s\n' "$uris" | head -n 1)"
  fi
}
