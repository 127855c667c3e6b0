// Package trail reads CloudTrail archives and event exports: it finds the
// inputs (files, folders, standard input, S3 prefixes laid out as an
// organization trail delivers them), opens them (gzip or plain), and
// splits each into records whatever its shape, naming anything damaged
// without losing the rest.
package trail
