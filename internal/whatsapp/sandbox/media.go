package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lifetimes of §7.
const (
	UploadedMediaTTL = 30 * 24 * time.Hour // ids from an upload
	InboundMediaTTL  = 7 * 24 * time.Hour  // ids received in webhooks
	MediaURLTTL      = 5 * time.Minute     // download URLs
)

// maxUpload is the largest file any kind takes (documents, 100 MB).
const maxUpload = 100 << 20

// supportedMIME maps the MIME types of §7 to their message kind.
var supportedMIME = map[string]string{
	"audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
	"text/plain": "document", "application/pdf": "document", "application/msword": "document",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
	"application/vnd.ms-excel": "document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "document",
	"application/vnd.ms-powerpoint":                                             "document",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
	"image/jpeg": "image", "image/png": "image",
	"image/webp": "sticker",
	"video/mp4":  "video", "video/3gpp": "video",
}

// maxMediaSize per kind (§7; stickers: the animated limit).
var maxMediaSize = map[string]int{"audio": 16 << 20, "document": 100 << 20, "image": 5 << 20, "sticker": 500 << 10, "video": 16 << 20}

// mediaKind is the message kind a MIME type (without parameters) belongs
// to, "" when WhatsApp does not support it.
func mediaKind(base string) string { return supportedMIME[base] }

// baseMIME drops parameters: "audio/ogg; codecs=opus" → "audio/ogg".
func baseMIME(mime string) string {
	base, _, _ := strings.Cut(mime, ";")
	return strings.ToLower(strings.TrimSpace(base))
}

// mediaObject is an uploaded or inbound file.
type mediaObject struct {
	data     []byte
	mimeType string
	sum      [sha256.Size]byte
	expires  time.Time
	mismatch string // content does not look like mimeType: sends fail later with 131053
}

// AddMedia stores a file as if uploaded now (valid 30 days) and returns
// its media id, for tests that need an id without an HTTP upload.
func (s *Sandbox) AddMedia(data []byte, mimeType string) string {
	return s.storeMedia(data, mimeType, UploadedMediaTTL)
}

// Media returns a stored file by media id (uploaded by the business or
// sent by a customer), expired or not.
func (s *Sandbox) Media(id string) (data []byte, mimeType string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok {
		return nil, "", false
	}
	return m.data, m.mimeType, true
}

func (s *Sandbox) storeMedia(data []byte, mimeType string, ttl time.Duration) string {
	m := &mediaObject{data: data, mimeType: mimeType, sum: sha256.Sum256(data), mismatch: sniffMismatch(data, mimeType)}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.expires = s.opts.Now().Add(ttl)
	for {
		id := newDigits(16)
		if _, taken := s.media[id]; !taken {
			s.media[id] = m
			return id
		}
	}
}

// sniffMismatch checks images, where content sniffing is reliable: a JPEG
// declared as PNG, or text declared as an image, is what usually makes Meta
// fail a send with 131053.
func sniffMismatch(data []byte, mimeType string) string {
	base := baseMIME(mimeType)
	if base != "image/jpeg" && base != "image/png" && base != "image/webp" {
		return ""
	}
	if got := http.DetectContentType(data); got != base {
		return fmt.Sprintf("the file was uploaded as %s but its content is %s", base, got)
	}
	return ""
}

// handleUpload is POST /{phone-number-id}/media: multipart/form-data with
// messaging_product=whatsapp, file and type (the MIME type; the file part's
// Content-Type when type is absent). The body is streamed, never spooled to
// disk. Unsupported types, empty files and files over the kind's limit fail
// with 131053.
func (s *Sandbox) handleUpload(r *http.Request) reply {
	mr, err := r.MultipartReader()
	if err != nil {
		return errReply(invalidParam("the request must be multipart/form-data"))
	}
	fields := map[string]string{}
	var (
		data     []byte
		partType string
		gotFile  bool
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errReply(invalidParam("malformed multipart body: %v", err))
		}
		if part.FormName() == "file" {
			data, err = io.ReadAll(io.LimitReader(part, maxUpload+1))
			if err != nil {
				return errReply(invalidParam("could not read the file: %v", err))
			}
			if len(data) > maxUpload {
				return errReply(newGraphError(131053, "the file is larger than %d bytes", maxUpload))
			}
			partType, gotFile = part.Header.Get("Content-Type"), true
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(part, 4<<10))
		fields[part.FormName()] = string(b)
	}
	if mp, ok := fields["messaging_product"]; !ok {
		return errReply(invalidParam("The parameter messaging_product is required."))
	} else if mp != "whatsapp" {
		return errReply(invalidParam("Param messaging_product must be one of {WHATSAPP} - got %q.", mp))
	}
	if !gotFile {
		return errReply(invalidParam("The parameter file is required."))
	}
	mime := fields["type"]
	if mime == "" {
		mime = partType
	}
	if mime == "" {
		return errReply(invalidParam("The parameter type is required."))
	}
	kind := mediaKind(baseMIME(mime))
	if kind == "" {
		types := make([]string, 0, len(supportedMIME))
		for t := range supportedMIME {
			types = append(types, t)
		}
		slices.Sort(types)
		return errReply(newGraphError(131053, "Param file must be a file with one of the following types: %s. Received file of type '%s'.",
			strings.Join(types, ", "), mime))
	}
	if len(data) == 0 {
		return errReply(newGraphError(131053, "the file is empty"))
	}
	if len(data) > maxMediaSize[kind] {
		return errReply(newGraphError(131053, "%s files must be at most %d bytes, this one has %d", mime, maxMediaSize[kind], len(data)))
	}
	return reply{json: map[string]any{"id": s.storeMedia(data, mime, UploadedMediaTTL)}}
}

// liveMedia returns an unexpired media object. Callers do not hold mu.
func (s *Sandbox) liveMedia(id string) (*mediaObject, bool) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || !now.Before(m.expires) {
		return nil, false
	}
	return m, true
}

// lookupMedia is liveMedia for the Graph endpoints, which may name the
// owning number in phone_number_id.
func (s *Sandbox) lookupMedia(r *http.Request, id string) (*mediaObject, *graphError) {
	if pid := r.URL.Query().Get("phone_number_id"); pid != "" && pid != s.opts.PhoneNumberID {
		return nil, invalidParam("Media %s does not belong to the phone number %s.", id, pid)
	}
	m, ok := s.liveMedia(id)
	if !ok {
		return nil, unknownObject(strings.ToLower(r.Method), id)
	}
	return m, nil
}

// handleMediaInfo is GET /{media-id}: a download URL valid 5 minutes.
// sha256 is hex here (base64 in webhooks) [U]; file_size a number [U].
func (s *Sandbox) handleMediaInfo(r *http.Request, id string) reply {
	m, gerr := s.lookupMedia(r, id)
	if gerr != nil {
		return errReply(gerr)
	}
	exp := s.opts.Now().Add(MediaURLTTL).Unix()
	link := fmt.Sprintf("%s%s?mid=%s&ext=%d&hash=%s", s.baseURL(r), downloadPath, id, exp, s.urlHash(id, exp))
	return reply{json: map[string]any{
		"messaging_product": "whatsapp", "url": link, "mime_type": m.mimeType,
		"sha256": hex.EncodeToString(m.sum[:]), "file_size": len(m.data), "id": id,
	}}
}

// handleMediaDelete is DELETE /{media-id}.
func (s *Sandbox) handleMediaDelete(r *http.Request, id string) reply {
	if _, gerr := s.lookupMedia(r, id); gerr != nil {
		return errReply(gerr)
	}
	s.mu.Lock()
	delete(s.media, id)
	s.mu.Unlock()
	return reply{json: map[string]any{"success": true}}
}

// urlHash signs a download URL so its id and expiry cannot be edited.
func (s *Sandbox) urlHash(id string, exp int64) string {
	m := hmac.New(sha256.New, s.urlKey)
	fmt.Fprintf(m, "%s|%d", id, exp)
	return "AT" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// handleDownload serves a download URL: the bearer token is required, and
// a missing token, an expired or edited URL or a deleted file all answer
// 404, as Meta's media host does.
func (s *Sandbox) handleDownload(r *http.Request) reply {
	notFound := reply{status: http.StatusNotFound, raw: []byte{}, contentType: "text/plain; charset=utf-8"}
	if !s.authorized(r) {
		return notFound
	}
	q := r.URL.Query()
	id := q.Get("mid")
	exp, err := strconv.ParseInt(q.Get("ext"), 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("hash")), []byte(s.urlHash(id, exp))) || s.opts.Now().Unix() > exp {
		return notFound
	}
	m, ok := s.liveMedia(id)
	if !ok {
		return notFound
	}
	return reply{raw: m.data, contentType: m.mimeType}
}
