// Package api holds the Proton API as Go types, generated from the Smithy model in
// ../shared/api: shapes, enums, modelled errors, validators, the operation table and the
// Service interface. Hand-written files here hold only what the generated code builds on.
package api

//go:generate go run ../apigen -model ../../../shared/api/proton-2020-07-20.smithy.json -out .
