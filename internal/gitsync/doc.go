// Package gitsync reads what Proton's template sync and service sync read from git.
//
// Proton created template versions from pushes: a template sync configuration names a
// repository, a branch and optionally a subdirectory, and every push that changed the
// bundle in <template-name>/v<N>/ registered a new minor version of major N. Service sync
// drove service instances from a proton-ops file in a repository: for each instance, the
// branch and the spec file to deploy it from. This package is the git-reading half of
// both: Head tells whether a branch moved (ls-remote, no clone), Fetch reads a branch's
// tree into memory, TemplateMajors turns a template's v<N> folders into bundles with
// digests that tell a changed bundle from an unchanged one, and ParseRegistration,
// ParseCompatibleEnvs and ParseOpsFile read the small YAML files that go with them.
// Deciding what to register or deploy is the caller's.
//
// Nothing is written to the local filesystem, and no error message shows a remote's
// password or token. Errors from git operations start with "gitsync:"; errors about a
// file's content name the file (or, for ParseOpsFile, the line) and are meant for the
// person who wrote it.
//
// Choices where Proton's behaviour is not documented:
//   - Without a subdirectory Proton "looks for the first directory that matches your
//     template name". Here that is the shallowest folder named after the template that
//     holds at least one v<N> folder, the first in path order among equally shallow ones;
//     the subdirectory limits the search to itself (and may itself be the template's
//     folder).
//   - A major's Digest covers its bundle files and, for a service template, its parsed
//     registration (compatible environments and component sources, order-free): changing
//     compatibility yields a new minor version, as a bundle change does, rather than
//     editing a version that may already be published. Reformatting the registration
//     file, or moving from .compatible-envs to .template-registration.yaml with the same
//     content, changes nothing.
//   - When a major has both .template-registration.yaml and the legacy .compatible-envs,
//     the former wins. Unknown keys in .template-registration.yaml are refused, so that a
//     misspelt supported_component_sources does not silently disable components.
//   - A symbolic link inside a major's folder keeps that major from syncing (bundles hold
//     only regular files); submodules are not part of a snapshot.
//   - The 250 MB repository limit applies to what Fetch downloads: the branch's tip
//     commit and its tree, uncompressed.
package gitsync
