package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"slices"
)

// The customer methods build a webhook exactly like Meta's (§3, §4), sign
// it, POST it to the webhook URL and return the wamid of the message. The
// first delivery is synchronous: the error is nil once the receiver
// answered 200, ErrNotAcknowledged (wrapped) or a transport error
// otherwise — the sandbox then keeps redelivering the same bytes in the
// background, as Meta does — or ErrNoWebhookURL. A held webhook (HoldNext)
// returns nil at once. Every inbound message except system ones opens the
// customer's 24 h window.

// SendText sends a text message from c.
func (s *Sandbox) SendText(ctx context.Context, c Customer, body string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "text", "text": map[string]any{"body": body}})
}

// Reply sends text quoting toWAMID (context {from: business number, id}).
func (s *Sandbox) Reply(ctx context.Context, c Customer, toWAMID, body string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "text", "text": map[string]any{"body": body},
		"context": map[string]any{"id": toWAMID}})
}

// React reacts to toWAMID with emoji; "" removes the reaction, which Meta
// sends with emoji omitted.
func (s *Sandbox) React(ctx context.Context, c Customer, toWAMID, emoji string) (string, error) {
	r := map[string]any{"message_id": toWAMID}
	if emoji != "" {
		r["emoji"] = emoji
	}
	return s.SendInbound(ctx, c, map[string]any{"type": "reaction", "reaction": r})
}

// TapButton taps the reply button id/title of the interactive message
// toWAMID (interactive.button_reply).
func (s *Sandbox) TapButton(ctx context.Context, c Customer, toWAMID, id, title string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "interactive", "context": map[string]any{"id": toWAMID},
		"interactive": map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": id, "title": title}}})
}

// ChooseListItem picks the row id/title of the list message toWAMID
// (interactive.list_reply; description only when not "").
func (s *Sandbox) ChooseListItem(ctx context.Context, c Customer, toWAMID, id, title, description string) (string, error) {
	row := map[string]any{"id": id, "title": title}
	if description != "" {
		row["description"] = description
	}
	return s.SendInbound(ctx, c, map[string]any{"type": "interactive", "context": map[string]any{"id": toWAMID},
		"interactive": map[string]any{"type": "list_reply", "list_reply": row}})
}

// TapTemplateButton taps a quick-reply button of the template message
// toWAMID (type "button", with the payload set when sending the template).
func (s *Sandbox) TapTemplateButton(ctx context.Context, c Customer, toWAMID, payload, text string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "button", "context": map[string]any{"id": toWAMID},
		"button": map[string]any{"payload": payload, "text": text}})
}

// SendMedia sends a file from c: kind is image, audio, video, document or
// sticker. The file becomes downloadable through GET /{media-id} for 7
// days. caption goes on image, video and document, filename on document.
func (s *Sandbox) SendMedia(ctx context.Context, c Customer, kind, mimeType, filename, caption string, data []byte) (string, error) {
	if !slices.Contains(mediaKinds, kind) {
		return "", fmt.Errorf("sandbox: %q is not a media kind", kind)
	}
	obj := map[string]any{"id": s.storeMedia(data, mimeType, InboundMediaTTL), "mime_type": mimeType}
	if caption != "" && (kind == "image" || kind == "video" || kind == "document") {
		obj["caption"] = caption
	}
	if filename != "" && kind == "document" {
		obj["filename"] = filename
	}
	return s.SendInbound(ctx, c, map[string]any{"type": kind, kind: obj})
}

// SendLocation shares a location pin (name and address only for a place:
// pass "" for a plain pin).
func (s *Sandbox) SendLocation(ctx context.Context, c Customer, latitude, longitude float64, name, address string) (string, error) {
	loc := map[string]any{"latitude": latitude, "longitude": longitude}
	if name != "" {
		loc["name"] = name
	}
	if address != "" {
		loc["address"] = address
	}
	return s.SendInbound(ctx, c, map[string]any{"type": "location", "location": loc})
}

// ChangeNumber sends the system message of c moving to newWAID (no
// contacts array, §4); the sandbox then knows the customer by newWAID.
func (s *Sandbox) ChangeNumber(ctx context.Context, c Customer, newWAID string) (string, error) {
	return s.SendInbound(ctx, c, map[string]any{"type": "system", "system": map[string]any{
		"body":  fmt.Sprintf("User %s changed from %s to %s", c.Name, c.WAID, newWAID),
		"wa_id": newWAID, "type": "user_changed_number"}})
}

// SendInbound sends any §4 message from c. msg holds "type" and the type's
// object, e.g. {"type":"image","image":{"caption":"x"}}, and optionally
// context, referral, errors… The sandbox fills what Meta adds:
//   - id (a new wamid), from (c.WAID) and timestamp (string of Unix
//     seconds), unless msg sets them;
//   - context.from (the business number's digits) when context has an id;
//   - for image, audio, video, document and sticker without an id: a
//     downloadable placeholder file (a real 1×1 JPEG or PNG, an OGG, MP4,
//     PDF or 1×1 WebP) with its id, mime_type and base64 sha256 (valid 7
//     days); with the id of a stored file (SendMedia, AddMedia, an upload),
//     its mime_type and sha256; an unknown id is kept as given;
//   - for unsupported without errors: the 131051 error.
//
// contacts [{profile:{name}, wa_id}] goes with every type but system. msg
// is not modified.
func (s *Sandbox) SendInbound(ctx context.Context, c Customer, msg map[string]any) (string, error) {
	wamid, _, err := s.sendInbound(ctx, c, msg)
	return wamid, err
}

// sendInbound is SendInbound also reporting whether HoldNext kept the
// webhook, which the control API tells its caller.
func (s *Sandbox) sendInbound(ctx context.Context, c Customer, msg map[string]any) (wamid string, held bool, err error) {
	if c.WAID == "" {
		return "", false, errors.New("sandbox: customer without a WAID")
	}
	typ, _ := msg["type"].(string)
	if typ == "" {
		return "", false, errors.New(`sandbox: inbound message without "type"`)
	}
	now := s.opts.Now()
	m := maps.Clone(msg)
	if _, ok := m["id"]; !ok {
		m["id"] = newWAMID(c.WAID, true)
	}
	if _, ok := m["from"]; !ok {
		m["from"] = c.WAID
	}
	if _, ok := m["timestamp"]; !ok {
		m["timestamp"] = unixString(now)
	}
	if cx, ok := m["context"].(map[string]any); ok {
		if _, hasID := cx["id"]; hasID {
			if _, hasFrom := cx["from"]; !hasFrom {
				cx = maps.Clone(cx)
				cx["from"] = s.DisplayPhoneNumberDigits()
				m["context"] = cx
			}
		}
	}
	if slices.Contains(mediaKinds, typ) {
		obj, _ := m[typ].(map[string]any)
		m[typ] = s.inboundMedia(typ, maps.Clone(obj), now.Unix())
	}
	if typ == "unsupported" {
		if _, ok := m["errors"]; !ok {
			m["errors"] = []any{ErrorObject(131051, "")}
		}
		if _, ok := m["unsupported"]; !ok {
			m["unsupported"] = map[string]any{"type": "unknown"}
		}
	}
	wamid = fmt.Sprint(m["id"])

	s.mu.Lock()
	s.inbound[wamid] = c.WAID
	s.names[c.WAID] = c.Name
	if typ != "system" {
		s.lastIn[c.WAID] = now
	} else if sys, _ := m["system"].(map[string]any); sys != nil {
		if to, _ := sys["wa_id"].(string); to != "" {
			if t, ok := s.lastIn[c.WAID]; ok {
				s.lastIn[to] = t
			}
			s.names[to] = c.Name
		}
	}
	s.received = append(s.received, Received{WAMID: wamid, WAID: c.WAID, Type: typ, Text: summary(typ, m), At: now})
	s.mu.Unlock()

	value := map[string]any{"messages": []any{m}}
	if typ != "system" {
		value["contacts"] = []any{map[string]any{"profile": map[string]any{"name": c.Name}, "wa_id": c.WAID}}
	}
	held, err = s.deliverHeld(ctx, s.envelope(value))
	return wamid, held, err
}

// inboundMedia completes an inbound media object (see SendInbound).
func (s *Sandbox) inboundMedia(kind string, obj map[string]any, now int64) map[string]any {
	if obj == nil {
		obj = map[string]any{}
	}
	id, _ := obj["id"].(string)
	if id != "" {
		if mo, ok := s.liveMedia(id); ok {
			setDefault(obj, "mime_type", mo.mimeType)
			setDefault(obj, "sha256", base64.StdEncoding.EncodeToString(mo.sum[:]))
		}
		// An id the sandbox does not know stays as given: tests of media
		// that cannot be downloaded.
	} else {
		mime, _ := obj["mime_type"].(string)
		voice, _ := obj["voice"].(bool)
		data, defMIME := placeholderFile(kind, mime, voice)
		if mime == "" {
			mime = defMIME
		}
		id = s.storeMedia(data, mime, InboundMediaTTL)
		sum := sha256.Sum256(data)
		obj["id"] = id
		setDefault(obj, "mime_type", mime)
		setDefault(obj, "sha256", base64.StdEncoding.EncodeToString(sum[:]))
	}
	if kind == "sticker" {
		setDefault(obj, "animated", false)
	}
	if _, ok := obj["url"]; !ok && s.opts.InboundMediaURL && id != "" {
		s.mu.Lock()
		base := s.publicURL
		s.mu.Unlock()
		if base != "" {
			exp := now + int64(MediaURLTTL.Seconds())
			obj["url"] = fmt.Sprintf("%s%s?mid=%s&ext=%d&hash=%s", base, downloadPath, id, exp, s.urlHash(id, exp))
		}
	}
	return obj
}

func setDefault(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// placeholderFile returns small bytes that content sniffers accept as the
// kind (a PNG when mime asks for one), and their MIME type.
func placeholderFile(kind, mime string, voice bool) ([]byte, string) {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 37, G: 211, B: 102, A: 255})
	var buf bytes.Buffer
	switch kind {
	case "image":
		if baseMIME(mime) == "image/png" {
			_ = png.Encode(&buf, img)
			return buf.Bytes(), "image/png"
		}
		_ = jpeg.Encode(&buf, img, nil)
		return buf.Bytes(), "image/jpeg"
	case "audio":
		data := append([]byte("OggS\x00\x02"), make([]byte, 22)...)
		data = append(data, "\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"...)
		if voice {
			return data, "audio/ogg; codecs=opus"
		}
		return data, "audio/ogg"
	case "video":
		return []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), "video/mp4"
	case "sticker":
		// A 1×1 lossless WebP.
		return []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"), "image/webp"
	default:
		return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), "application/pdf"
	}
}

// summary is the human-readable text of an inbound message, for
// ReceivedFrom.
func summary(typ string, m map[string]any) string {
	field := func(obj, key string) string {
		o, _ := m[obj].(map[string]any)
		s, _ := o[key].(string)
		return s
	}
	switch typ {
	case "text":
		return field("text", "body")
	case "image", "video", "document":
		if c := field(typ, "caption"); c != "" {
			return c
		}
		return field(typ, "filename")
	case "reaction":
		return field("reaction", "emoji")
	case "button":
		return field("button", "text")
	case "location":
		return field("location", "name")
	case "system":
		return field("system", "body")
	case "interactive":
		in, _ := m["interactive"].(map[string]any)
		for _, k := range []string{"button_reply", "list_reply"} {
			if r, ok := in[k].(map[string]any); ok {
				t, _ := r["title"].(string)
				return t
			}
		}
	}
	return ""
}
