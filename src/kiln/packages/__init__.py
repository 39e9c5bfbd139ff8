"""The package service: npm dependency ranges -> one exact graph (package-lock.json, import
map) and packages -> browser ESM built by esbuild, cached content-addressed.

    specs.py     which names and specs kiln accepts (only the configured registry)
    registry.py  packuments and tarballs from that registry: integrity, safe extraction
    resolve.py   the npm-style tree, its lockfile and the preview's import map
    build.py     esbuild (and cjs-module-lexer) in Node: a package entry or subpath -> ESM
    cache.py     built modules under <data_dir>/pkg or s3://<bucket>/pkg/
    service.py   what the routes call: resolve a package.json, serve /pkg/<name>@<version>/...

Errors (all kiln.errors subclasses): package_not_found, package_spec_refused,
registry_unavailable, package_graph_too_large, package_needs_node, package_too_large,
package_build_timeout, package_build_failed.
"""
