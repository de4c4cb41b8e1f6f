// Package helpdesk holds SupportWhatsApp's domain: the types every other
// package speaks (users, departments, customers, conversations, messages) and
// the rules that govern them. It imports no HTTP or SQL package; adapters
// (store, httpapi, realtime, whatsapp) depend on it, never the other way round.
//
// Errors returned to callers are *Error values whose Code is one of the API's
// error codes; httpapi maps each code to an HTTP status in one table.
package helpdesk
