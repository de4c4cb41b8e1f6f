package sandbox

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of §6.
const (
	maxTextBody        = 4096
	maxCaption         = 1024
	maxBizOpaque       = 512
	maxButtonBody      = 1024
	maxListBody        = 4096 // Meta's current page; older docs say 1024 [U]
	maxHeaderFooter    = 60
	maxButtonTitle     = 20
	maxButtonID        = 256
	maxListButton      = 20
	maxSectionTitle    = 24
	maxRowID           = 200
	maxRowTitle        = 24
	maxRowDescription  = 72
	maxListRows        = 10
	maxListSections    = 10
	maxReplyButtons    = 3
	maxCTADisplayText  = 20
	minPhoneDigits     = 8
	maxPhoneDigits     = 15
	maxLinkLength      = 2000
	maxFilenameLength  = 240
	maxContactsPerSend = 257
)

var messageTypes = []string{"text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "template", "reaction"}

var mediaKinds = []string{"image", "audio", "video", "document", "sticker"}

// checked is a valid send request and what the sandbox must do after
// accepting it.
type checked struct {
	to, waID, typ string
	tmpl          *Template // template messages
	voice         bool      // audio with voice:true
	reactTo       string    // reaction target wamid
	mediaProblem  string    // reported later as a failed status with 131053
}

// checkMessage validates a send request against §6: code 100 for schema
// and length problems (details name the parameter, Meta style), 131009 for
// unacceptable values, 131021 when sending to the business itself, 132xxx
// for templates.
func (s *Sandbox) checkMessage(req map[string]any) (*checked, *graphError) {
	c := &checked{}
	if v, ok := req["recipient_type"]; ok && v != "individual" && v != "group" {
		return nil, invalidParam("Param recipient_type must be one of {INDIVIDUAL, GROUP} - got %q.", toString(v))
	}
	v, ok := req["to"]
	if !ok {
		return nil, invalidParam("The parameter to is required.")
	}
	to, _ := v.(string)
	waID, gerr := parseTo(to)
	if gerr != nil {
		return nil, gerr
	}
	if waID == s.DisplayPhoneNumberDigits() {
		return nil, newGraphError(131021, "%s", lookupCode(131021).details)
	}
	c.to, c.waID = to, waID

	tv, ok := req["type"]
	if !ok {
		return nil, invalidParam("The parameter type is required.")
	}
	c.typ, _ = tv.(string)
	if !slices.Contains(messageTypes, c.typ) {
		return nil, invalidParam("Param type must be one of {%s} - got %q.", strings.ToUpper(strings.Join(messageTypes, ", ")), toString(tv))
	}
	if v, ok := req["context"]; ok {
		if c.typ == "reaction" {
			return nil, invalidParam("Param context is not allowed on reaction messages.")
		}
		m, _ := v.(map[string]any)
		if id, _ := m["message_id"].(string); id == "" {
			return nil, invalidParam("The parameter context['message_id'] is required.")
		}
	}
	if _, err := stringParam(req, "biz_opaque_callback_data", "biz_opaque_callback_data", maxBizOpaque, false); err != nil {
		return nil, err
	}

	if c.typ == "contacts" {
		return c, checkContacts(req["contacts"])
	}
	p, err := objectParam(req, c.typ, c.typ)
	if err != nil {
		return nil, err
	}
	switch c.typ {
	case "text":
		if _, err := stringParam(p, "body", "text['body']", maxTextBody, true); err != nil {
			return nil, err
		}
		if v, ok := p["preview_url"]; ok {
			if _, isBool := v.(bool); !isBool {
				return nil, invalidParam("Param text['preview_url'] must be a boolean.")
			}
		}
	case "image", "audio", "video", "document", "sticker":
		err = s.checkMedia(c, p)
	case "location":
		err = checkLocation(p)
	case "interactive":
		err = checkInteractive(p)
	case "template":
		c.tmpl, err = s.checkTemplate(p)
	case "reaction":
		c.reactTo, err = stringParam(p, "message_id", "reaction['message_id']", 0, true)
		if err == nil {
			if e, ok := p["emoji"]; !ok {
				err = invalidParam("The parameter reaction['emoji'] is required.")
			} else if _, isString := e.(string); !isString {
				err = invalidParam("Param reaction['emoji'] must be a string.")
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseTo reads a recipient: "+", digits, spaces, "-", "(", ")" and dots
// allowed; 8–15 digits. The wa_id is its digits (the sandbox does not
// prepend the business's country code to a number without "+").
func parseTo(to string) (string, *graphError) {
	if strings.TrimSpace(to) == "" {
		return "", invalidParam("The parameter to is required.")
	}
	for i, r := range to {
		if !(r >= '0' && r <= '9' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '+' && i == 0) {
			return "", invalidParam("Param to must be a phone number - got %q.", to)
		}
	}
	d := digits(to)
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits {
		return "", invalidParam("Param to must be a phone number with country code - got %q.", to)
	}
	return d, nil
}

func (s *Sandbox) checkMedia(c *checked, p map[string]any) *graphError {
	kind := c.typ
	id, err := stringParam(p, "id", kind+"['id']", 0, false)
	if err != nil {
		return err
	}
	link, err := stringParam(p, "link", kind+"['link']", maxLinkLength, false)
	if err != nil {
		return err
	}
	if (id == "") == (link == "") {
		return invalidParam("Param %s must contain exactly one of id or link.", kind)
	}
	if _, ok := p["caption"]; ok {
		if kind != "image" && kind != "video" && kind != "document" {
			return invalidParam("Param %s['caption'] is not a valid parameter for %s messages.", kind, kind)
		}
		if _, err := stringParam(p, "caption", kind+"['caption']", maxCaption, false); err != nil {
			return err
		}
	}
	if _, ok := p["filename"]; ok {
		if kind != "document" {
			return invalidParam("Param %s['filename'] is not a valid parameter for %s messages.", kind, kind)
		}
		if _, err := stringParam(p, "filename", "document['filename']", maxFilenameLength, false); err != nil {
			return err
		}
	}
	if v, ok := p["voice"]; ok {
		b, isBool := v.(bool)
		if kind != "audio" || !isBool {
			return invalidParam("Param %s['voice'] must be a boolean, on audio messages only.", kind)
		}
		c.voice = b
	}
	if link != "" {
		u, perr := url.Parse(link)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalidParam("Param %s['link'] must be a valid http(s) URL.", kind)
		}
		return nil // the sandbox does not fetch links
	}
	m, ok := s.liveMedia(id)
	if !ok {
		return invalidValue("Param %s['id'] is not a valid media id: %s is unknown or expired.", kind, id)
	}
	c.mediaProblem = mediaFits(kind, m.mimeType, c.voice)
	if c.mediaProblem == "" {
		c.mediaProblem = m.mismatch
	}
	return nil
}

// mediaFits says why media of MIME type mime cannot go as a kind message
// ("" when it can). Documents take any uploaded file [U].
func mediaFits(kind, mime string, voice bool) string {
	base := baseMIME(mime)
	switch {
	case kind == "document":
		return ""
	case kind == "sticker" && base != "image/webp":
		return fmt.Sprintf("stickers must be image/webp, the media is %s", mime)
	case kind != "sticker" && mediaKind(base) != kind:
		return fmt.Sprintf("media of type %s cannot be sent as %s", mime, kind)
	case voice && base != "audio/ogg":
		return fmt.Sprintf("voice notes must be audio/ogg (OPUS), the media is %s", mime)
	}
	return ""
}

func checkLocation(p map[string]any) *graphError {
	for _, k := range []string{"latitude", "longitude"} {
		v, ok := p[k]
		if !ok {
			return invalidParam("The parameter location['%s'] is required.", k)
		}
		f, isNum := v.(float64)
		if !isNum {
			return invalidParam("Param location['%s'] must be a number.", k)
		}
		if limit := map[string]float64{"latitude": 90, "longitude": 180}[k]; f < -limit || f > limit {
			return invalidValue("Param location['%s'] must be between %v and %v.", k, -limit, limit)
		}
	}
	for _, k := range []string{"name", "address"} {
		if _, err := stringParam(p, k, "location['"+k+"']", 1000, false); err != nil {
			return err
		}
	}
	return nil
}

func checkContacts(v any) *graphError {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return invalidParam("The parameter contacts is required (a non-empty array).")
	}
	if len(list) > maxContactsPerSend {
		return invalidParam("Param contacts must have at most %d items.", maxContactsPerSend)
	}
	for i, item := range list {
		path := fmt.Sprintf("contacts[%d]", i)
		m, ok := item.(map[string]any)
		if !ok {
			return invalidParam("Param %s must be a JSON object.", path)
		}
		name, err := objectParam(m, "name", path+"['name']")
		if err != nil {
			return err
		}
		if _, err := stringParam(name, "formatted_name", path+"['name']['formatted_name']", 0, true); err != nil {
			return err
		}
	}
	return nil
}

// checkInteractive validates reply buttons, lists and CTA URL messages in
// detail; other interactive types only need an action.
func checkInteractive(p map[string]any) *graphError {
	typ, err := stringParam(p, "type", "interactive['type']", 0, true)
	if err != nil {
		return err
	}
	switch typ {
	case "button":
		if err := checkBody(p, maxButtonBody); err != nil {
			return err
		}
		if err := checkFooter(p); err != nil {
			return err
		}
		if err := checkHeader(p, true); err != nil {
			return err
		}
		return checkReplyButtons(p)
	case "list":
		if err := checkBody(p, maxListBody); err != nil {
			return err
		}
		if err := checkFooter(p); err != nil {
			return err
		}
		if err := checkHeader(p, false); err != nil {
			return err
		}
		return checkList(p)
	case "cta_url":
		if err := checkBody(p, maxButtonBody); err != nil {
			return err
		}
		if err := checkFooter(p); err != nil {
			return err
		}
		if err := checkHeader(p, true); err != nil {
			return err
		}
		action, err := objectParam(p, "action", "interactive['action']")
		if err != nil {
			return err
		}
		if name, _ := action["name"].(string); name != "cta_url" {
			return invalidParam("Param interactive['action']['name'] must be cta_url.")
		}
		params, err := objectParam(action, "parameters", "interactive['action']['parameters']")
		if err != nil {
			return err
		}
		if _, err := stringParam(params, "display_text", "interactive['action']['parameters']['display_text']", maxCTADisplayText, true); err != nil {
			return err
		}
		link, err := stringParam(params, "url", "interactive['action']['parameters']['url']", maxLinkLength, true)
		if err != nil {
			return err
		}
		if u, perr := url.Parse(link); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalidParam("Param interactive['action']['parameters']['url'] must be a valid http(s) URL.")
		}
		return nil
	case "flow", "product", "product_list", "catalog_message", "location_request_message", "address_message", "call_permission_request":
		_, err := objectParam(p, "action", "interactive['action']")
		return err
	default:
		return invalidParam("Param interactive['type'] must be one of {BUTTON, LIST, CTA_URL, FLOW, PRODUCT, PRODUCT_LIST, "+
			"CATALOG_MESSAGE, LOCATION_REQUEST_MESSAGE, ADDRESS_MESSAGE, CALL_PERMISSION_REQUEST} - got %q.", typ)
	}
}

func checkBody(p map[string]any, max int) *graphError {
	body, err := objectParam(p, "body", "interactive['body']")
	if err != nil {
		return err
	}
	_, err = stringParam(body, "text", "interactive['body']['text']", max, true)
	return err
}

func checkFooter(p map[string]any) *graphError {
	if _, ok := p["footer"]; !ok {
		return nil
	}
	footer, err := objectParam(p, "footer", "interactive['footer']")
	if err != nil {
		return err
	}
	_, err = stringParam(footer, "text", "interactive['footer']['text']", maxHeaderFooter, true)
	return err
}

// checkHeader: text (≤ 60) everywhere; image, video, document only when
// media is allowed (reply buttons, CTA URL).
func checkHeader(p map[string]any, media bool) *graphError {
	if _, ok := p["header"]; !ok {
		return nil
	}
	h, err := objectParam(p, "header", "interactive['header']")
	if err != nil {
		return err
	}
	typ, err := stringParam(h, "type", "interactive['header']['type']", 0, true)
	if err != nil {
		return err
	}
	switch {
	case typ == "text":
		_, err = stringParam(h, "text", "interactive['header']['text']", maxHeaderFooter, true)
		return err
	case media && (typ == "image" || typ == "video" || typ == "document"):
		m, err := objectParam(h, typ, "interactive['header']['"+typ+"']")
		if err != nil {
			return err
		}
		id, _ := m["id"].(string)
		link, _ := m["link"].(string)
		if (id == "") == (link == "") {
			return invalidParam("Param interactive['header']['%s'] must contain exactly one of id or link.", typ)
		}
		return nil
	case media:
		return invalidParam("Param interactive['header']['type'] must be one of {TEXT, IMAGE, VIDEO, DOCUMENT} - got %q.", typ)
	default:
		return invalidParam("Param interactive['header']['type'] must be TEXT for list messages - got %q.", typ)
	}
}

func checkReplyButtons(p map[string]any) *graphError {
	action, err := objectParam(p, "action", "interactive['action']")
	if err != nil {
		return err
	}
	buttons, ok := action["buttons"].([]any)
	if !ok || len(buttons) == 0 {
		return invalidParam("The parameter interactive['action']['buttons'] is required.")
	}
	if len(buttons) > maxReplyButtons {
		return invalidParam("Param interactive['action']['buttons'] must have at most %d items.", maxReplyButtons)
	}
	ids, titles := map[string]bool{}, map[string]bool{}
	for i, b := range buttons {
		path := fmt.Sprintf("interactive['action']['buttons'][%d]", i)
		bm, ok := b.(map[string]any)
		if !ok {
			return invalidParam("Param %s must be a JSON object.", path)
		}
		if t, _ := bm["type"].(string); t != "reply" {
			return invalidParam("Param %s['type'] must be one of {REPLY}.", path)
		}
		r, err := objectParam(bm, "reply", path+"['reply']")
		if err != nil {
			return err
		}
		id, err := stringParam(r, "id", path+"['reply']['id']", maxButtonID, true)
		if err != nil {
			return err
		}
		title, err := stringParam(r, "title", path+"['reply']['title']", maxButtonTitle, true)
		if err != nil {
			return err
		}
		if ids[id] || titles[title] {
			return invalidValue("Buttons must have unique ids and titles: %s repeats one.", path)
		}
		ids[id], titles[title] = true, true
	}
	return nil
}

func checkList(p map[string]any) *graphError {
	action, err := objectParam(p, "action", "interactive['action']")
	if err != nil {
		return err
	}
	if _, err := stringParam(action, "button", "interactive['action']['button']", maxListButton, true); err != nil {
		return err
	}
	sections, ok := action["sections"].([]any)
	if !ok || len(sections) == 0 {
		return invalidParam("The parameter interactive['action']['sections'] is required.")
	}
	if len(sections) > maxListSections {
		return invalidParam("Param interactive['action']['sections'] must have at most %d items.", maxListSections)
	}
	rows, ids := 0, map[string]bool{}
	for i, sv := range sections {
		path := fmt.Sprintf("interactive['action']['sections'][%d]", i)
		sec, ok := sv.(map[string]any)
		if !ok {
			return invalidParam("Param %s must be a JSON object.", path)
		}
		// Meta's page marks the title required; older SDKs only with
		// several sections. The sandbox follows the older, looser rule.
		if _, err := stringParam(sec, "title", path+"['title']", maxSectionTitle, len(sections) > 1); err != nil {
			return err
		}
		list, ok := sec["rows"].([]any)
		if !ok || len(list) == 0 {
			return invalidParam("The parameter %s['rows'] is required.", path)
		}
		for j, rv := range list {
			rpath := fmt.Sprintf("%s['rows'][%d]", path, j)
			row, ok := rv.(map[string]any)
			if !ok {
				return invalidParam("Param %s must be a JSON object.", rpath)
			}
			id, err := stringParam(row, "id", rpath+"['id']", maxRowID, true)
			if err != nil {
				return err
			}
			if _, err := stringParam(row, "title", rpath+"['title']", maxRowTitle, true); err != nil {
				return err
			}
			if _, err := stringParam(row, "description", rpath+"['description']", maxRowDescription, false); err != nil {
				return err
			}
			if ids[id] {
				return invalidValue("Row ids must be unique: %s repeats %q.", rpath, id)
			}
			ids[id] = true
			rows++
		}
	}
	if rows > maxListRows {
		return invalidParam("Param interactive['action']['sections'] must have at most %d rows in total - got %d.", maxListRows, rows)
	}
	return nil
}

// objectParam returns p[key] as a JSON object, or code 100.
func objectParam(p map[string]any, key, path string) (map[string]any, *graphError) {
	v, ok := p[key]
	if !ok {
		return nil, invalidParam("The parameter %s is required.", path)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalidParam("Param %s must be a JSON object.", path)
	}
	return m, nil
}

// stringParam returns p[key] as a string of at most max characters (max 0:
// no limit); required makes absence or "" an error.
func stringParam(p map[string]any, key, path string, max int, required bool) (string, *graphError) {
	v, ok := p[key]
	if !ok {
		if required {
			return "", invalidParam("The parameter %s is required.", path)
		}
		return "", nil
	}
	str, ok := v.(string)
	if !ok {
		return "", invalidParam("Param %s must be a string.", path)
	}
	if required && strings.TrimSpace(str) == "" {
		return "", invalidParam("The parameter %s is required.", path)
	}
	if max > 0 && utf8.RuneCountInString(str) > max {
		return "", invalidParam("Param %s must be at most %d characters long.", path, max)
	}
	return str, nil
}

// toString renders any JSON value for an error message.
func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
