#!/bin/sh
# Renames functions so that their names say their layer (docs/conventions.md,
# "Naming by layer"). Idempotent: running it again, or on a branch that still
# uses some of the old names, renames only what is left. Run from the repo
# root (or give it the root): sh scripts/rename-by-layer.sh [ROOT]
#
# Each line: old new. Matching is on whole identifiers; `struct vs_rootfs_mount`
# (the runtime's record of a mount it made) is a type, not the image function,
# and is left alone.
set -eu
cd "${1:-$(dirname "$0")/..}"

renames='
vs_rootfs_prepare_dir      vs_image_rootfs_prepare_dir
vs_rootfs_mount            vs_image_rootfs_mount
vs_rootfs_umount           vs_image_rootfs_umount
vs_rootfs_diff             vs_image_rootfs_diff
vs_rootfs_changes          vs_image_rootfs_changes
vs_rootfs_upper_is_copy    vs_image_rootfs_upper_is_copy
vs_seccomp_default_profile vs_engine_seccomp_default
vs_oci_config              vs_engine_oci_config
vs_config_diff_ids         vs_image_config_diff_ids
vs_container_oom_score_adj vs_engine_oom_score_adj
'

files=$(git ls-files -- src tests bench docs README.md 2>/dev/null ||
        find src tests bench docs README.md -type f)
files=$(printf '%s\n' $files | grep -E '\.(c|h|md|py|sh)$' || true)
[ -n "$files" ] || exit 0

echo "$renames" | while read -r old new; do
        [ -n "$old" ] || continue
        hits=$(grep -lw -- "$old" $files || true)
        [ -n "$hits" ] || continue
        # perl: a look-behind keeps "struct <old>" (a type of the same name).
        perl -pi -e "s/(?<!struct )\\b$old\\b/$new/g" $hits
done
