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
	s.fields(str("object", &n.Object), with("entry", func() { s.array(func() { s.entry(&n) }) }))
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
	var known [16][]byte
	nknown := 0
	for more := s.enter('{', '}'); more; more = s.next('}') {
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
	for more := s.enter('[', ']'); more; more = s.next(']') {
		if elem != nil {
			elem()
		} else {
			s.skip()
		}
	}
}

// enter moves into the object or array that open starts at the cursor. It
// reports whether a member or element follows: false for an empty one
// (left already) and for bad text.
func (s *scanner) enter(open, close byte) bool {
	if s.peek() != open {
		s.fail()
		return false
	}
	if s.depth++; s.depth > maxScanDepth {
		s.fail()
		return false
	}
	s.i++
	s.ws()
	if s.peek() == close {
		s.i++
		s.depth--
		return false
	}
	return true
}

// next moves past what follows a member or element: true after a comma,
// false once close has ended the object or array (or for bad text).
func (s *scanner) next(close byte) bool {
	s.ws()
	switch s.peek() {
	case ',':
		s.i++
		s.ws()
		return true
	case close:
		s.i++
		s.depth--
		return false
	}
	s.fail()
	return false
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

// reread runs read with the cursor moved to off, a value already read once,
// then puts the cursor back.
func (s *scanner) reread(off int, read func()) {
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

// readStr reads a string or null (which leaves *dst alone) into *dst.
func (s *scanner) readStr(dst *string) {
	switch s.peek() {
	case '"':
		*dst = s.text()
	case 'n':
		s.literal("null")
	default:
		s.fail()
	}
}

// readBool reads true, false or null (which leaves *dst alone) into *dst.
func (s *scanner) readBool(dst *bool) {
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

// readNum reads any value into a flexNumber, which takes what it can.
func (s *scanner) readNum(dst *flexNumber) {
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

// A field says where the member of an object with that name goes: exactly
// one of the pointers is set, or else read, which must read the value.
type field struct {
	name string
	str  *string
	flag *bool
	num  *flexNumber
	at   *int // the value's offset, for reading it later
	read func()
}

func str(name string, dst *string) field     { return field{name: name, str: dst} }
func boolean(name string, dst *bool) field   { return field{name: name, flag: dst} }
func num(name string, dst *flexNumber) field { return field{name: name, num: dst} }
func at(name string, dst *int) field         { return field{name: name, at: dst} }
func with(name string, read func()) field    { return field{name: name, read: read} }

// fields reads an object into fs, skipping members fs does not name.
func (s *scanner) fields(fs ...field) {
	s.object(func(key []byte) bool {
		for i := range fs {
			f := &fs[i]
			if f.name != string(key) {
				continue
			}
			switch {
			case f.str != nil:
				s.readStr(f.str)
			case f.flag != nil:
				s.readBool(f.flag)
			case f.num != nil:
				s.readNum(f.num)
			case f.at != nil:
				*f.at = s.i
				s.skip()
			default:
				f.read()
			}
			return true
		}
		return false
	})
}

func (s *scanner) entry(n *Notification) {
	if s.peek() == 'n' { // a null entry is an empty one
		s.literal("null")
		return
	}
	first := len(n.Changes)
	var id string
	s.fields(str("id", &id), with("changes", func() { s.array(func() { s.change(n) }) }))
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
	value := 0 // field may come after value
	s.fields(str("field", &c.Field), at("value", &value))
	switch {
	case s.bad || value == 0:
	case c.Field != FieldMessages:
		s.reread(value, func() { c.Value = clone(s.raw()) })
	case s.b[value] == '{':
		s.reread(value, func() { s.value(&c) })
	case s.b[value] != 'n': // a "messages" value that is not an object
		s.fail()
	}
	n.Changes = append(n.Changes, c)
}

func (s *scanner) value(c *Change) {
	s.fields(
		with("metadata", func() {
			if s.peek() == 'n' {
				s.literal("null")
				return
			}
			s.fields(str("display_phone_number", &c.DisplayPhoneNumber), str("phone_number_id", &c.PhoneNumberID))
		}),
		with("contacts", func() {
			s.array(func() {
				var ct Contact
				s.fields(
					with("profile", func() { s.fields(str("name", &ct.Name)) }),
					str("wa_id", &ct.WAID),
				)
				c.Contacts = append(c.Contacts, ct)
			})
		}),
		with("messages", func() { s.array(func() { c.Messages = append(c.Messages, s.message()) }) }),
		with("statuses", func() { s.array(func() { c.Statuses = append(c.Statuses, s.status()) }) }),
		with("errors", func() { s.array(func() { c.Errors = append(c.Errors, s.wireError()) }) }),
	)
}

func (s *scanner) message() Message {
	start := s.i
	var m Message
	// The payload is named by the type, which may come after it: note
	// where each is and read the one that matters at the end.
	var context, referral, contacts, text, image, audio, video, document, sticker,
		location, interactive, button, reaction, order, system int
	s.fields(
		str("id", &m.ID), str("from", &m.From), str("type", &m.Type),
		with("timestamp", func() { m.Timestamp = s.timestamp() }),
		with("errors", func() { s.array(func() { m.Errors = append(m.Errors, s.wireError()) }) }),
		at("context", &context), at("referral", &referral), at(TypeContacts, &contacts),
		at(TypeText, &text), at(TypeImage, &image), at(TypeAudio, &audio), at(TypeVideo, &video),
		at(TypeDocument, &document), at(TypeSticker, &sticker), at(TypeLocation, &location),
		at(TypeInteractive, &interactive), at(TypeButton, &button), at(TypeReaction, &reaction),
		at(TypeOrder, &order), at(TypeSystem, &system),
	)
	if s.bad {
		return Message{}
	}
	m.Raw = clone(s.b[start:s.i])
	if s.isObjectAt(context) {
		s.reread(context, func() { m.Context = s.context() })
	}
	if s.isObjectAt(referral) {
		s.reread(referral, func() { m.Referral = s.referral() })
	}
	// What follows is parseMessage's switch on the type.
	payload := func(off int, read func()) {
		if s.isObjectAt(off) {
			s.reread(off, read)
		}
	}
	switch m.Type {
	case TypeText:
		payload(text, func() { s.fields(str("body", &m.Text)) })
	case TypeImage:
		payload(image, func() { m.Media = s.media() })
	case TypeAudio:
		payload(audio, func() { m.Media = s.media() })
	case TypeVideo:
		payload(video, func() { m.Media = s.media() })
	case TypeDocument:
		payload(document, func() { m.Media = s.media() })
	case TypeSticker:
		payload(sticker, func() { m.Media = s.media() })
	case TypeLocation:
		payload(location, func() {
			m.Location = s.location()
			m.Text = m.Location.Name
		})
	case TypeContacts:
		if contacts > 0 && s.b[contacts] == '[' {
			s.reread(contacts, func() { s.array(func() { m.Contacts = append(m.Contacts, s.sharedContact()) }) })
		}
	case TypeInteractive:
		payload(interactive, func() {
			if m.Reply = s.interactive(); m.Reply != nil {
				m.Text = m.Reply.Title
			}
		})
	case TypeButton:
		payload(button, func() {
			m.Button = &Button{}
			s.fields(str("payload", &m.Button.Payload), str("text", &m.Button.Text))
			m.Text = m.Button.Text
		})
	case TypeReaction:
		payload(reaction, func() {
			m.Reaction = &Reaction{}
			s.fields(str("message_id", &m.Reaction.MessageID), str("emoji", &m.Reaction.Emoji))
		})
	case TypeOrder:
		payload(order, func() {
			m.Order = s.order()
			m.Text = m.Order.Text
		})
	case TypeSystem:
		payload(system, func() {
			m.System = s.system()
			m.Text = m.System.Body
		})
	}
	if m.Media != nil {
		m.Text = m.Media.Caption
	}
	return m
}

func (s *scanner) context() *Context {
	c := &Context{}
	product := 0
	s.fields(str("from", &c.From), str("id", &c.ID), boolean("forwarded", &c.Forwarded),
		boolean("frequently_forwarded", &c.FrequentlyForwarded), at("referred_product", &product))
	if s.isObjectAt(product) {
		c.ReferredProduct = &ReferredProduct{}
		p := c.ReferredProduct
		s.reread(product, func() { s.fields(str("catalog_id", &p.CatalogID), str("product_retailer_id", &p.ProductRetailerID)) })
	}
	return c
}

func (s *scanner) referral() *Referral {
	r := &Referral{}
	s.fields(str("source_url", &r.SourceURL), str("source_id", &r.SourceID), str("source_type", &r.SourceType),
		str("headline", &r.Headline), str("body", &r.Body), str("media_type", &r.MediaType),
		str("image_url", &r.ImageURL), str("video_url", &r.VideoURL), str("thumbnail_url", &r.ThumbnailURL),
		str("ctwa_clid", &r.CTWAClickID))
	return r
}

func (s *scanner) media() *Media {
	m := &Media{}
	s.fields(str("id", &m.ID), str("mime_type", &m.MimeType), str("sha256", &m.SHA256), str("caption", &m.Caption),
		str("filename", &m.Filename), str("url", &m.URL), boolean("voice", &m.Voice), boolean("animated", &m.Animated))
	return m
}

func (s *scanner) location() *Location {
	var lat, lon flexNumber
	l := &Location{}
	s.fields(num("latitude", &lat), num("longitude", &lon), str("name", &l.Name), str("address", &l.Address), str("url", &l.URL))
	l.Latitude, l.Longitude = lat.f, lon.f
	return l
}

func (s *scanner) sharedContact() SharedContact {
	start := s.i
	var sc SharedContact
	s.fields(
		with("name", func() { s.fields(str("formatted_name", &sc.FormattedName)) }),
		with("phones", func() {
			s.array(func() {
				var phone, waID string
				s.fields(str("phone", &phone), str("wa_id", &waID))
				if phone != "" {
					sc.Phones = append(sc.Phones, phone)
				}
				if waID != "" {
					sc.WAIDs = append(sc.WAIDs, waID)
				}
			})
		}),
	)
	if !s.bad {
		sc.Raw = clone(s.b[start:s.i])
	}
	return sc
}

// interactive reads an interactive payload as toReply does.
func (s *scanner) interactive() *InteractiveReply {
	var typ string
	var button, list, flow int
	s.fields(str("type", &typ), at(ReplyButton, &button), at(ReplyList, &list), at(ReplyFlow, &flow))
	item := 0
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
		var name string
		s.reread(flow, func() {
			s.fields(str("name", &name), str("body", &r.Title),
				with("response_json", func() { r.ResponseJSON = rawString(s.raw()) }))
		})
		return r
	}
	if !s.isObjectAt(item) {
		return nil
	}
	r := &InteractiveReply{Type: typ}
	s.reread(item, func() { s.fields(str("id", &r.ID), str("title", &r.Title), str("description", &r.Description)) })
	return r
}

func (s *scanner) order() *Order {
	o := &Order{}
	s.fields(str("catalog_id", &o.CatalogID), str("text", &o.Text), with("product_items", func() {
		s.array(func() {
			var it OrderItem
			var quantity, price flexNumber
			s.fields(str("product_retailer_id", &it.ProductRetailerID), num("quantity", &quantity),
				num("item_price", &price), str("currency", &it.Currency))
			it.Quantity, it.ItemPrice = quantity.int(), price.f
			o.Items = append(o.Items, it)
		})
	}))
	return o
}

func (s *scanner) system() *System {
	y := &System{}
	s.fields(str("type", &y.Type), str("body", &y.Body), str("wa_id", &y.WAID), str("new_wa_id", &y.NewWAID))
	if y.NewWAID == "" && y.Type == "user_changed_number" {
		y.NewWAID = y.WAID
	}
	return y
}

func (s *scanner) status() Status {
	start := s.i
	var st Status
	s.fields(str("id", &st.ID), str("status", &st.Status), str("recipient_id", &st.RecipientID),
		with("timestamp", func() { st.Timestamp = s.timestamp() }),
		with("errors", func() { s.array(func() { st.Errors = append(st.Errors, s.wireError()) }) }),
		str("biz_opaque_callback_data", &st.BizOpaqueCallbackData))
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
	s.fields(num("code", &w.Code), str("title", &w.Title), str("message", &w.Message),
		with("error_data", func() { w.ErrorData = s.raw() }), str("href", &w.Href))
	return w.toError()
}
