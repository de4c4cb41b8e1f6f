package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The OpenAPI 3.1 document is derived from the route table and the request
// and response types by reflection, so a route cannot exist without being
// described. JSON field names come from json tags; fields tagged
// required:"true" (requests) or without omitempty (responses) are required;
// pointer fields are nullable; enum:"a,b" lists allowed values.

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	a.openAPIOnce.Do(func() { a.openAPIDoc = a.OpenAPI() })
	return writeJSON(w, http.StatusOK, a.openAPIDoc)
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// OpenAPI returns the OpenAPI 3.1 document of the API.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.routes {
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = a.operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "SupportWhatsApp API",
			"version":     a.opts.Version,
			"description": "REST API of SupportWhatsApp, a self-hosted WhatsApp helpdesk. Errors always have the shape {\"error\":{\"code\",\"message\",\"requestId\",\"fields\"}}.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
			"schemas": map[string]any{"Error": errorSchema()},
		},
	}
}

func (a *API) operation(rt route) map[string]any {
	op := map[string]any{
		"summary":     rt.summary,
		"tags":        []string{rt.tag},
		"operationId": operationID(rt),
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.query {
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.description, "schema": map[string]any{"type": q.kind}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.request != nil {
		op["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.request), true)}},
		}
	}
	success := map[string]any{"description": http.StatusText(rt.status)}
	if rt.response != nil {
		success["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.response), false)}}
	}
	responses := map[string]any{strconv.Itoa(rt.status): success}
	errRef := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	addErr := func(status int, desc string) {
		e := map[string]any{"description": desc}
		for k, v := range errRef {
			e[k] = v
		}
		responses[strconv.Itoa(status)] = e
	}
	if rt.request != nil {
		addErr(400, "Invalid body or parameters")
		addErr(413, "Body too large")
		addErr(415, "Body is not JSON")
	} else if len(rt.query) > 0 {
		addErr(400, "Invalid parameters")
	}
	if rt.access != public {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		addErr(401, "Missing or invalid access token")
		addErr(403, "Role not allowed, or password change required")
	}
	if strings.Contains(rt.path, "{") {
		addErr(404, "Not found")
	}
	addErr(429, "Rate limited; see Retry-After")
	op["responses"] = responses
	return op
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, part := range strings.Split(strings.TrimPrefix(rt.path, "/api/v1"), "/") {
		part = strings.Trim(part, "{}")
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '.' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func errorSchema() map[string]any {
	return map[string]any{
		"type":     "object",
		"required": []string{"error"},
		"properties": map[string]any{
			"error": map[string]any{
				"type":     "object",
				"required": []string{"code", "message"},
				"properties": map[string]any{
					"code":      map[string]any{"type": "string"},
					"message":   map[string]any{"type": "string"},
					"requestId": map[string]any{"type": "string"},
					"fields":    map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				},
			},
		},
	}
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawJSONType = reflect.TypeOf(json.RawMessage(nil))
)

// schemaOf describes t as a JSON Schema. For request types, required means
// tagged required:"true"; for responses, every field without omitempty.
func schemaOf(t reflect.Type, request bool) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var s map[string]any
	switch {
	case t == timeType:
		s = map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		s = map[string]any{} // any JSON value
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s = map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice:
		s = map[string]any{"type": "array", "items": schemaOf(t.Elem(), request)}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object"}
		if t.Elem().Kind() != reflect.Interface {
			s["additionalProperties"] = schemaOf(t.Elem(), request)
		}
	case t.Kind() == reflect.Struct:
		s = structSchema(t, request)
	default:
		s = map[string]any{}
	}
	if nullable {
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
	}
	return s
}

func structSchema(t reflect.Type, request bool) map[string]any {
	props := map[string]any{}
	required := []string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		name := jsonName(f)
		fs := schemaOf(f.Type, request)
		if enum := f.Tag.Get("enum"); enum != "" {
			fs["enum"] = strings.Split(enum, ",")
		}
		if d := f.Tag.Get("description"); d != "" {
			fs["description"] = d
		}
		props[name] = fs
		if request && f.Tag.Get("required") == "true" || !request && !strings.Contains(f.Tag.Get("json"), "omitempty") {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if request {
		s["additionalProperties"] = false
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
