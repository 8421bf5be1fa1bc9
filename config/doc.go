// Package config loads and validates slaprobe configuration files and
// declared-incident timelines.
//
// Both are YAML. The loader decodes into a yaml.Node tree and walks it by
// hand, so every problem it finds carries the file, the line and the dotted
// key it is about ("services[0].flows[1].steps[2].expect.status"), and it
// reports all of them at once, sorted by line, as an [Errors] value.
//
// Templates (variable values, request URLs, headers and bodies, matcher
// operands) keep their ${...} references; see [Lookup]. Secret references
// (${env:NAME}, ${file:PATH}) are resolved once at load time into
// Config.Secrets and never appear, resolved, in an error message.
//
// The reference of every key is docs/config.md.
package config
