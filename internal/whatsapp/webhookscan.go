package whatsapp

import (
	"bytes"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// scanWebhook is ParseWebhook's fast path. decodeWebhook calls
// json.Unmarshal once per level of the webhook (notification, value, each
// message twice, each payload), and each call re-validates and re-copies
// bytes an outer call already went through; scanWebhook reads the body once,
// validating as it goes, and copies only what it returns.
//
// It answers only for the subset of bodies where being exact is simple:
// well-formed JSON in which every field the parser reads has the JSON type
// Meta documents (or null), with no duplicate field names and no field name
// that encoding/json would match only case-insensitively or through
// escapes. There, its result equals decodeWebhook's. For anything else
// (errors included) it reports false and ParseWebhook falls back to
// decodeWebhook, so the leniency rules and the error messages live in one
// place. body must already have been through SanitizeJSON, so it holds valid
// UTF-8.
func scanWebhook(body []byte) (Notification, bool) {
	s := scanner{b: body}
	var n Notification
	s.ws()
	if s.peek() != '{' {
		return Notification{}, false
	}
	s.object(func(key []byte) bool {
		switch string(key) {
		case "object":
			s.str(&n.Object)
		case "entry":
			s.array(func() { s.entry(&n) })
		default:
			return false
		}
		return true
	})
	s.ws()
	if s.bad || s.i != len(s.b) {
		return Notification{}, false
	}
	return n, true
}

// scanner walks JSON text with a cursor. The first surprise sets bad and
// moves the cursor to the end, after which every method returns at once;
// the caller then falls back to decodeWebhook.
type scanner struct {
	b       []byte
	i       int
	depth   int
	bad     bool
	scratch []byte // reused by unquote
}

// maxScanDepth bounds nesting, far below encoding/json's 10000: deeper
// bodies are left to decodeWebhook.
const maxScanDepth = 500

func (s *scanner) fail() {
	s.bad = true
	s.i = len(s.b)
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object reads the object at the cursor. For each member it calls member
// with the raw name, the cursor on the value: member either reads the value
// and returns true, or returns false to have it skipped. A nil member skips
// every value. Names member reads must be unique; names it skips must not
// be ones encoding/json could match to a field through case folding or
// escapes.
func (s *scanner) object(member func(key []byte) bool) {
	if s.peek() != '{' {
		s.fail()
		return
	}
	if s.depth++; s.depth > maxScanDepth {
		s.fail()
		return
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		s.depth--
		return
	}
	var known [16][]byte
	nknown := 0
	for {
		if s.peek() != '"' {
			s.fail()
			return
		}
		key, escaped := s.stringBytes()
		s.ws()
		if s.peek() != ':' {
			s.fail()
			return
		}
		s.i++
		s.ws()
		if member != nil && !escaped && member(key) {
			for _, k := range known[:nknown] {
				if string(k) == string(key) {
					s.fail()
					return
				}
			}
			if nknown == len(known) {
				s.fail()
				return
			}
			known[nknown] = key
			nknown++
		} else {
			if member != nil && mayFold(key) {
				s.fail()
				return
			}
			s.skip()
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.depth--
			return
		default:
			s.fail()
			return
		}
	}
}

// mayFold reports whether encoding/json might match name to a field
// although it is not spelled exactly as the field: it holds an escape, an
// upper-case letter or a non-ASCII rune (ſ and the Kelvin sign fold to s
// and k).
func mayFold(name []byte) bool {
	for _, c := range name {
		if c == '\\' || c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}

// array reads the array at the cursor, calling elem with the cursor on each
// element; elem must read exactly that element. A nil elem skips them.
// null is accepted as an empty array, as encoding/json does for a slice.
func (s *scanner) array(elem func()) {
	if s.peek() == 'n' {
		s.literal("null")
		return
	}
	if s.peek() != '[' {
		s.fail()
		return
	}
	if s.depth++; s.depth > maxScanDepth {
		s.fail()
		return
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		s.depth--
		return
	}
	for {
		if elem != nil {
			elem()
		} else {
			s.skip()
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			s.depth--
			return
		default:
			s.fail()
			return
		}
	}
}

// skip reads any value.
func (s *scanner) skip() {
	switch c := s.peek(); {
	case c == '{':
		s.object(nil)
	case c == '[':
		s.array(nil)
	case c == '"':
		s.stringBytes()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		s.number()
	default:
		s.fail()
	}
}

// raw reads any value and returns its text (a slice of the body, not a
// copy).
func (s *scanner) raw() []byte {
	start := s.i
	s.skip()
	if s.bad {
		return nil
	}
	return s.b[start:s.i]
}

// at runs read with the cursor moved to off, a value already read once,
// then puts the cursor back.
func (s *scanner) at(off int, read func()) {
	i, depth := s.i, s.depth
	s.i = off
	read()
	if !s.bad {
		s.i, s.depth = i, depth
	}
}

func (s *scanner) literal(word string) {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		s.fail()
		return
	}
	s.i += len(word)
}

// number reads a number as RFC 8259 spells it.
func (s *scanner) number() {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		s.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			s.fail()
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			s.fail()
			return
		}
	}
	s.i = i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// stringBytes reads the string at the cursor and returns its content
// between the quotes, still escaped, and whether it holds any escape.
func (s *scanner) stringBytes() (content []byte, escaped bool) {
	b := s.b
	for i := s.i + 1; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			content = b[s.i+1 : i]
			s.i = i + 1
			return content, escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				s.fail()
				return nil, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					s.fail()
					return nil, false
				}
				i += 6
			default:
				s.fail()
				return nil, false
			}
		case c < 0x20:
			s.fail()
			return nil, false
		default:
			i++
		}
	}
	s.fail()
	return nil, false
}

// text reads the string at the cursor and returns its value.
func (s *scanner) text() string {
	content, escaped := s.stringBytes()
	if !escaped {
		return intern(content)
	}
	return string(s.unquote(content))
}

// intern returns the constant for the values every webhook repeats, which
// saves allocating them again for each delivery.
func intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "whatsapp_business_account":
		return "whatsapp_business_account"
	case FieldMessages:
		return FieldMessages
	case TypeText:
		return TypeText
	case StatusSent:
		return StatusSent
	case StatusDelivered:
		return StatusDelivered
	case StatusRead:
		return StatusRead
	}
	return string(b)
}

// unquote decodes the escapes of a string's content exactly as
// encoding/json does, including its replacement of an unpaired surrogate
// by U+FFFD. The result is valid until the next call.
func (s *scanner) unquote(content []byte) []byte {
	out := s.scratch[:0]
	for i := 0; i < len(content); {
		c := content[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch c = content[i+1]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(content, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+1 < len(content) && content[i] == '\\' && content[i+1] == 'u' {
					if v, ok := hex4(content, i+2); ok {
						r2 = v
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					out = utf8.AppendRune(out, d)
					i += 6
					continue
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, c)
		}
		i += 2
	}
	s.scratch = out
	return out
}

// str reads a string or null (which leaves *dst alone) into *dst.
func (s *scanner) str(dst *string) {
	switch s.peek() {
	case '"':
		*dst = s.text()
	case 'n':
		s.literal("null")
	default:
		s.fail()
	}
}

// boolean reads true, false or null (which leaves *dst alone) into *dst.
func (s *scanner) boolean(dst *bool) {
	switch s.peek() {
	case 't':
		s.literal("true")
		*dst = true
	case 'f':
		s.literal("false")
		*dst = false
	case 'n':
		s.literal("null")
	default:
		s.fail()
	}
}

// flex reads any value into a flexNumber, which takes what it can.
func (s *scanner) flex(dst *flexNumber) {
	if raw := s.raw(); raw != nil {
		_ = dst.UnmarshalJSON(raw)
	}
}

// timestamp reads any value as parseTimestamp does.
func (s *scanner) timestamp() time.Time {
	if s.peek() != '"' {
		return unixSeconds(s.raw())
	}
	content, escaped := s.stringBytes()
	if escaped {
		content = s.unquote(content)
	}
	return unixSeconds(bytes.TrimSpace(content))
}

// unixSeconds is parseTimestamp's strconv.ParseInt(s, 10, 64) and range
// check without the string.
func unixSeconds(b []byte) time.Time {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return time.Time{}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return time.Time{}
		}
		if n = n*10 + int64(c-'0'); n > maxUnixSeconds {
			return time.Time{}
		}
	}
	if neg || n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// clone copies a value's text out of the body, as json.RawMessage does.
func clone(raw []byte) []byte {
	return append([]byte(nil), raw...)
}

// isObjectAt reports whether the value at off (0: absent) is an object,
// decodeObject's test.
func (s *scanner) isObjectAt(off int) bool {
	return off > 0 && s.b[off] == '{'
}

func (s *scanner) entry(n *Notification) {
	if s.peek() == 'n' { // a null entry is an empty one
		s.literal("null")
		return
	}
	first := len(n.Changes)
	var id string
	s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s.str(&id)
		case "changes":
			s.array(func() { s.change(n) })
		default:
			return false
		}
		return true
	})
	for i := first; i < len(n.Changes); i++ {
		n.Changes[i].WABAID = id
	}
}

func (s *scanner) change(n *Notification) {
	var c Change
	if s.peek() == 'n' { // a null change is one with no field
		s.literal("null")
		n.Changes = append(n.Changes, c)
		return
	}
	value := 0
	s.object(func(key []byte) bool {
		switch string(key) {
		case "field":
			s.str(&c.Field)
		case "value":
			value = s.i
			s.skip()
		default:
			return false
		}
		return true
	})
	switch {
	case s.bad || value == 0:
	case c.Field != FieldMessages:
		s.at(value, func() { c.Value = clone(s.raw()) })
	case s.b[value] == '{':
		s.at(value, func() { s.value(&c) })
	case s.b[value] != 'n': // a "messages" value that is not an object
		s.fail()
	}
	n.Changes = append(n.Changes, c)
}

func (s *scanner) value(c *Change) {
	s.object(func(key []byte) bool {
		switch string(key) {
		case "metadata":
			if s.peek() == 'n' {
				s.literal("null")
				break
			}
			s.object(func(key []byte) bool {
				switch string(key) {
				case "display_phone_number":
					s.str(&c.DisplayPhoneNumber)
				case "phone_number_id":
					s.str(&c.PhoneNumberID)
				default:
					return false
				}
				return true
			})
		case "contacts":
			s.array(func() {
				var ct Contact
				s.object(func(key []byte) bool {
					switch string(key) {
					case "profile":
						s.object(func(key []byte) bool {
							if string(key) != "name" {
								return false
							}
							s.str(&ct.Name)
							return true
						})
					case "wa_id":
						s.str(&ct.WAID)
					default:
						return false
					}
					return true
				})
				c.Contacts = append(c.Contacts, ct)
			})
		case "messages":
			s.array(func() { c.Messages = append(c.Messages, s.message()) })
		case "statuses":
			s.array(func() { c.Statuses = append(c.Statuses, s.status()) })
		case "errors":
			s.array(func() { c.Errors = append(c.Errors, s.wireError()) })
		default:
			return false
		}
		return true
	})
}

// messageParts are the offsets of a message's payloads (0: absent), read
// once the message's type is known.
type messageParts struct {
	context, referral, payload, contacts int
}

func (s *scanner) message() Message {
	start := s.i
	var m Message
	var p messageParts
	// The payload's name is the type, which may come after it: remember
	// every payload and pick one at the end.
	var payloads [len(payloadNames)]int
	s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s.str(&m.ID)
		case "from":
			s.str(&m.From)
		case "type":
			s.str(&m.Type)
		case "timestamp":
			m.Timestamp = s.timestamp()
		case "errors":
			s.array(func() { m.Errors = append(m.Errors, s.wireError()) })
		case "context":
			p.context = s.i
			s.skip()
		case "referral":
			p.referral = s.i
			s.skip()
		case "contacts":
			p.contacts = s.i
			s.skip()
		default:
			i := payloadIndex(key)
			if i < 0 {
				return false
			}
			payloads[i] = s.i
			s.skip()
		}
		return true
	})
	if s.bad {
		return Message{}
	}
	m.Raw = clone(s.b[start:s.i])
	if i := payloadIndex(m.Type); i >= 0 {
		p.payload = payloads[i]
	}
	s.messageParts(&m, p)
	return m
}

// payloadNames are the message fields holding one type's payload, other
// than contacts (an array, read apart).
var payloadNames = [...]string{
	TypeText, TypeImage, TypeAudio, TypeVideo, TypeDocument, TypeSticker, TypeLocation,
	TypeInteractive, TypeButton, TypeReaction, TypeOrder, TypeSystem,
}

func payloadIndex[T string | []byte](name T) int {
	for i, n := range payloadNames {
		if n == string(name) {
			return i
		}
	}
	return -1
}

// messageParts fills m from the payloads p points at, as parseMessage does.
func (s *scanner) messageParts(m *Message, p messageParts) {
	if s.isObjectAt(p.context) {
		s.at(p.context, func() { m.Context = s.context() })
	}
	if s.isObjectAt(p.referral) {
		s.at(p.referral, func() { m.Referral = s.referral() })
	}
	if m.Type == TypeContacts && p.contacts > 0 && s.b[p.contacts] == '[' {
		s.at(p.contacts, func() {
			s.array(func() { m.Contacts = append(m.Contacts, s.sharedContact()) })
		})
	}
	if !s.isObjectAt(p.payload) {
		return
	}
	s.at(p.payload, func() {
		switch m.Type {
		case TypeText:
			s.object(func(key []byte) bool {
				if string(key) != "body" {
					return false
				}
				s.str(&m.Text)
				return true
			})
		case TypeImage, TypeAudio, TypeVideo, TypeDocument, TypeSticker:
			m.Media = s.media()
			m.Text = m.Media.Caption
		case TypeLocation:
			m.Location = s.location()
			m.Text = m.Location.Name
		case TypeInteractive:
			if m.Reply = s.interactive(); m.Reply != nil {
				m.Text = m.Reply.Title
			}
		case TypeButton:
			b := &Button{}
			s.object(func(key []byte) bool {
				switch string(key) {
				case "payload":
					s.str(&b.Payload)
				case "text":
					s.str(&b.Text)
				default:
					return false
				}
				return true
			})
			m.Button, m.Text = b, b.Text
		case TypeReaction:
			r := &Reaction{}
			s.object(func(key []byte) bool {
				switch string(key) {
				case "message_id":
					s.str(&r.MessageID)
				case "emoji":
					s.str(&r.Emoji)
				default:
					return false
				}
				return true
			})
			m.Reaction = r
		case TypeOrder:
			m.Order = s.order()
			m.Text = m.Order.Text
		case TypeSystem:
			m.System = s.system()
			m.Text = m.System.Body
		}
	})
}

func (s *scanner) context() *Context {
	c := &Context{}
	product := 0
	s.object(func(key []byte) bool {
		switch string(key) {
		case "from":
			s.str(&c.From)
		case "id":
			s.str(&c.ID)
		case "forwarded":
			s.boolean(&c.Forwarded)
		case "frequently_forwarded":
			s.boolean(&c.FrequentlyForwarded)
		case "referred_product":
			product = s.i
			s.skip()
		default:
			return false
		}
		return true
	})
	if s.isObjectAt(product) {
		s.at(product, func() {
			p := &ReferredProduct{}
			s.object(func(key []byte) bool {
				switch string(key) {
				case "catalog_id":
					s.str(&p.CatalogID)
				case "product_retailer_id":
					s.str(&p.ProductRetailerID)
				default:
					return false
				}
				return true
			})
			c.ReferredProduct = p
		})
	}
	return c
}

func (s *scanner) referral() *Referral {
	r := &Referral{}
	s.object(func(key []byte) bool {
		var dst *string
		switch string(key) {
		case "source_url":
			dst = &r.SourceURL
		case "source_id":
			dst = &r.SourceID
		case "source_type":
			dst = &r.SourceType
		case "headline":
			dst = &r.Headline
		case "body":
			dst = &r.Body
		case "media_type":
			dst = &r.MediaType
		case "image_url":
			dst = &r.ImageURL
		case "video_url":
			dst = &r.VideoURL
		case "thumbnail_url":
			dst = &r.ThumbnailURL
		case "ctwa_clid":
			dst = &r.CTWAClickID
		default:
			return false
		}
		s.str(dst)
		return true
	})
	return r
}

func (s *scanner) media() *Media {
	m := &Media{}
	s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s.str(&m.ID)
		case "mime_type":
			s.str(&m.MimeType)
		case "sha256":
			s.str(&m.SHA256)
		case "caption":
			s.str(&m.Caption)
		case "filename":
			s.str(&m.Filename)
		case "url":
			s.str(&m.URL)
		case "voice":
			s.boolean(&m.Voice)
		case "animated":
			s.boolean(&m.Animated)
		default:
			return false
		}
		return true
	})
	return m
}

func (s *scanner) location() *Location {
	l := &Location{}
	var lat, lon flexNumber
	s.object(func(key []byte) bool {
		switch string(key) {
		case "latitude":
			s.flex(&lat)
		case "longitude":
			s.flex(&lon)
		case "name":
			s.str(&l.Name)
		case "address":
			s.str(&l.Address)
		case "url":
			s.str(&l.URL)
		default:
			return false
		}
		return true
	})
	l.Latitude, l.Longitude = lat.f, lon.f
	return l
}

func (s *scanner) sharedContact() SharedContact {
	start := s.i
	var sc SharedContact
	s.object(func(key []byte) bool {
		switch string(key) {
		case "name":
			s.object(func(key []byte) bool {
				if string(key) != "formatted_name" {
					return false
				}
				s.str(&sc.FormattedName)
				return true
			})
		case "phones":
			s.array(func() {
				var phone, waID string
				s.object(func(key []byte) bool {
					switch string(key) {
					case "phone":
						s.str(&phone)
					case "wa_id":
						s.str(&waID)
					default:
						return false
					}
					return true
				})
				if phone != "" {
					sc.Phones = append(sc.Phones, phone)
				}
				if waID != "" {
					sc.WAIDs = append(sc.WAIDs, waID)
				}
			})
		default:
			return false
		}
		return true
	})
	if !s.bad {
		sc.Raw = clone(s.b[start:s.i])
	}
	return sc
}

// interactive reads an interactive payload as toReply does.
func (s *scanner) interactive() *InteractiveReply {
	var typ string
	var button, list, flow int
	s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			s.str(&typ)
		case ReplyButton:
			button = s.i
			s.skip()
		case ReplyList:
			list = s.i
			s.skip()
		case ReplyFlow:
			flow = s.i
			s.skip()
		default:
			return false
		}
		return true
	})
	var item int
	switch typ {
	case ReplyButton:
		item = button
	case ReplyList:
		item = list
	case ReplyFlow:
		if !s.isObjectAt(flow) {
			return nil
		}
		r := &InteractiveReply{Type: ReplyFlow}
		s.at(flow, func() {
			s.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					var name string
					s.str(&name)
				case "body":
					s.str(&r.Title)
				case "response_json":
					r.ResponseJSON = rawString(s.raw())
				default:
					return false
				}
				return true
			})
		})
		return r
	}
	if !s.isObjectAt(item) {
		return nil
	}
	r := &InteractiveReply{Type: typ}
	s.at(item, func() {
		s.object(func(key []byte) bool {
			switch string(key) {
			case "id":
				s.str(&r.ID)
			case "title":
				s.str(&r.Title)
			case "description":
				s.str(&r.Description)
			default:
				return false
			}
			return true
		})
	})
	return r
}

func (s *scanner) order() *Order {
	o := &Order{}
	s.object(func(key []byte) bool {
		switch string(key) {
		case "catalog_id":
			s.str(&o.CatalogID)
		case "text":
			s.str(&o.Text)
		case "product_items":
			s.array(func() {
				var it OrderItem
				var quantity, price flexNumber
				s.object(func(key []byte) bool {
					switch string(key) {
					case "product_retailer_id":
						s.str(&it.ProductRetailerID)
					case "quantity":
						s.flex(&quantity)
					case "item_price":
						s.flex(&price)
					case "currency":
						s.str(&it.Currency)
					default:
						return false
					}
					return true
				})
				it.Quantity, it.ItemPrice = quantity.int(), price.f
				o.Items = append(o.Items, it)
			})
		default:
			return false
		}
		return true
	})
	return o
}

func (s *scanner) system() *System {
	y := &System{}
	s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			s.str(&y.Type)
		case "body":
			s.str(&y.Body)
		case "wa_id":
			s.str(&y.WAID)
		case "new_wa_id":
			s.str(&y.NewWAID)
		default:
			return false
		}
		return true
	})
	if y.NewWAID == "" && y.Type == "user_changed_number" {
		y.NewWAID = y.WAID
	}
	return y
}

func (s *scanner) status() Status {
	start := s.i
	var st Status
	s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s.str(&st.ID)
		case "status":
			s.str(&st.Status)
		case "recipient_id":
			s.str(&st.RecipientID)
		case "timestamp":
			st.Timestamp = s.timestamp()
		case "errors":
			s.array(func() { st.Errors = append(st.Errors, s.wireError()) })
		case "biz_opaque_callback_data":
			s.str(&st.BizOpaqueCallbackData)
		default:
			return false
		}
		return true
	})
	if s.bad {
		return Status{}
	}
	st.Raw = clone(s.b[start:s.i])
	return st
}

// wireError reads one element of an errors array. error_data is rare
// enough to leave to errorDetails.
func (s *scanner) wireError() Error {
	var w wireError
	s.object(func(key []byte) bool {
		switch string(key) {
		case "code":
			s.flex(&w.Code)
		case "title":
			s.str(&w.Title)
		case "message":
			s.str(&w.Message)
		case "error_data":
			w.ErrorData = s.raw()
		case "href":
			s.str(&w.Href)
		default:
			return false
		}
		return true
	})
	return w.toError()
}
