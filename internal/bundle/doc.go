// Package bundle loads and checks Proton template bundles: a gzipped tar holding schema/
// and the infrastructure folders, each with a manifest.yaml naming its template files.
// Every problem with a bundle's content is an *Error whose message is meant for the person
// who uploaded it (it becomes the version's statusMessage). It also parses specs and
// resolves their inputs against the schema.
//
// Files: tar.go reads the archive safely (quotas, path safety, bounded decompression);
// bundle.go assembles the sections a kind needs; manifest.go and schema.go parse the two
// YAML files; inputs.go checks inputs against an input type; compat.go compares the
// schemas of two minor versions; spec.go reads specs.
//
// Choices where Proton's behaviour is not documented:
//   - One folder wrapping everything is removed whatever its name; loose files beside it
//     are not part of the bundle. Folders at the top of the archive are taken as they are.
//   - The 10-template-file quota counts the files the manifests name ("*" counts every
//     file of its folder). A codebuild template names none.
//   - Unknown manifest and schema keys are ignored; schema examples are not checked
//     against their type; unknown string formats are not enforced.
//   - $ref is rejected: Proton's documentation never shows one, and a schema written
//     out in full is what the service and render layers read.
//   - A codebuild template's env keeps every scalar as its YAML text (environment
//     variables are strings, and 1.10 must not become 1.1).
//   - CheckCompatible treats any changed pattern or format as narrowing: it cannot tell
//     whether one regular expression accepts everything another does.
package bundle
