# bench/common.sh: helpers the benchmark scripts source.

# The installed library (path, time, hash), to report what was measured and
# to notice a reinstall during a run.
so_id() {
    local path
    path="$(pg_config --pkglibdir 2>/dev/null || true)/automl.so"
    if [ -r "$path" ]; then
        printf '%s, %s, sha256 %s' "$path" "$(date -u -r "$path" '+%Y-%m-%d %H:%M:%S')" \
            "$(sha256sum "$path" | cut -c1-12)"
    else
        printf '?'
    fi
}
