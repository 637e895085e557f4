#!/usr/bin/env bash
# Rebuild mclip/viewer/vendor/ from the npm registry: three.js and its OrbitControls,
# bundled into one minified classic script (window.THREE) that the viewer page inlines,
# plus three's LICENSE. Run it after changing three's version or when
# mclip/viewer/template.html uses a three.js name the bundle lacks (the bundle holds
# exactly the names the template uses as `T.Name`); commit the result.
#
# Needs node + npm (the registry only). The three npm package ships no minified build
# since r17x, so esbuild (pinned) bundles and minifies the parts the page uses.
set -euo pipefail
THREE_VERSION=0.187.0
ESBUILD_VERSION=0.28.2

root=$(cd "$(dirname "$0")/.." && pwd)
template=$root/mclip/viewer/template.html
dest=$root/mclip/viewer/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "three@$THREE_VERSION" "esbuild@$ESBUILD_VERSION"

names=$(grep -oE '\bT\.[A-Z][A-Za-z0-9_]*' "$template" | cut -c3- | sort -u | grep -vx OrbitControls | paste -sd, -)
[ -n "$names" ] || { echo "no three.js names found in $template" >&2; exit 1; }
{
  echo "export { ${names//,/, } } from 'three';"
  echo "export { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';"
} > entry.js

npx esbuild entry.js --bundle --minify --format=iife --global-name=THREE \
  --legal-comments=none --target=es2020 --charset=ascii --log-level=warning --outfile=bundle.js

mkdir -p "$dest"
{
  echo "/*! three.js $THREE_VERSION (npm: three@$THREE_VERSION, build/three.module.js + examples/jsm/controls/OrbitControls.js)"
  echo " * Copyright 2010-2026 three.js authors, MIT licence (see LICENSE beside this file)."
  echo " * Bundled and minified by esbuild $ESBUILD_VERSION (tools/vendor_three.sh); exports: $names, OrbitControls */"
  cat bundle.js
} > "$dest/three.min.js"
cp node_modules/three/LICENSE "$dest/LICENSE"
echo "wrote $dest/three.min.js ($(wc -c < "$dest/three.min.js") bytes) and $dest/LICENSE"
