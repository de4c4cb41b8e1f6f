package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
)

// decode reads a JSON body into dst (a pointer to a request struct):
// content type must be JSON (415), the body must fit the size limit (413),
// be one well-formed JSON object (400 bad_request) with no unknown fields
// and fields of the right types (400 validation_failed with fields), and
// every field tagged required:"true" must be present and non-empty.
func decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &helpdesk.Error{Code: helpdesk.CodeUnsupportedMediaType, Message: "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		switch _, extra := dec.Token(); {
		case extra == io.EOF:
		case middleware.IsTooLarge(extra):
			err = extra // an object that fits, padded past the limit
		default:
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		return decodeError(err)
	}
	if missing := missingRequired(dst); len(missing) > 0 {
		return helpdesk.ValidationError(missing)
	}
	// encoding/json already replaces invalid UTF-8 and lone surrogates with
	// U+FFFD, but it lets "\u0000" through, and PostgreSQL refuses NUL in
	// text: without this check such a name would be a 500.
	if bad := stringsWithNUL(reflect.ValueOf(dst)); len(bad) > 0 {
		return helpdesk.ValidationError(bad)
	}
	return nil
}

// stringsWithNUL returns "must not contain NUL characters" for every string
// reachable from v that holds a NUL byte, keyed by the JSON name of the
// struct field it is in (slice and map elements count for their field).
func stringsWithNUL(v reflect.Value) map[string]string {
	out := map[string]string{}
	var walk func(v reflect.Value, name string)
	walk = func(v reflect.Value, name string) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), name)
			}
		case reflect.String:
			if strings.IndexByte(v.String(), 0) >= 0 {
				out[name] = "must not contain NUL characters"
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if f := v.Type().Field(i); f.IsExported() {
					walk(v.Field(i), jsonName(f))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), name)
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Key(), name)
				walk(it.Value(), name)
			}
		}
	}
	walk(v, "")
	return out
}

// errEmptyBody answers a request with no body where one is required.
var errEmptyBody = errBadRequest("the request body is empty; send a JSON object")

// decodeOptional is decode for routes whose body may be left out entirely
// (dst then keeps its zero value).
func decodeOptional(r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if err := decode(r, dst); err != errEmptyBody {
		return err
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case middleware.IsTooLarge(err):
		return &helpdesk.Error{Code: helpdesk.CodeTooLarge, Message: "the request body is too large"}
	case errors.Is(err, io.EOF):
		return errEmptyBody
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("the request body is not valid JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errBadRequest("the request body must be a JSON object")
		}
		return helpdesk.ValidationError(map[string]string{typeErr.Field: "must be " + jsonKind(typeErr.Type)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return helpdesk.ValidationError(map[string]string{name: "is not a known field"})
	case err.Error() == "trailing data":
		return errBadRequest("the request body must hold exactly one JSON object")
	}
	return errBadRequest("the request body could not be read")
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// missingRequired returns "is required" for every required:"true" field of
// the struct dst points to that is nil or empty.
func missingRequired(dst any) map[string]string {
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]string{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Tag.Get("required") != "true" {
			continue
		}
		fv := v.Field(i)
		if fv.IsZero() || (fv.Kind() == reflect.Pointer && fv.Elem().Kind() == reflect.String && strings.TrimSpace(fv.Elem().String()) == "") ||
			(fv.Kind() == reflect.String && strings.TrimSpace(fv.String()) == "") {
			out[jsonName(f)] = "is required"
		}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	// Encoded before the status is sent, so a value that cannot be encoded
	// answers 500 instead of a 200 carrying an error.
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// listLimit parses the limit query parameter: 1..100, default 50.
func listLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, helpdesk.ValidationError(map[string]string{"limit": "must be an integer between 1 and 100"})
	}
	return n, nil
}

// queryBool parses an optional boolean query parameter.
func queryBool(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, helpdesk.ValidationError(map[string]string{name: "must be true or false"})
	}
	return &b, nil
}

// cursorError reports a cursor that this server did not issue.
func cursorError() error {
	return helpdesk.ValidationError(map[string]string{"cursor": "is not a cursor returned by this API"})
}

func itoa(n int) string { return strconv.Itoa(n) }
