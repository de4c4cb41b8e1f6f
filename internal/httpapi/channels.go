package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// channelDTO never carries the credentials; has* tells whether they are set.
type channelDTO struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	PhoneNumberID       string    `json:"phoneNumberId"`
	DisplayPhoneNumber  string    `json:"displayPhoneNumber"`
	BusinessAccountID   string    `json:"businessAccountId"`
	DefaultDepartmentID *string   `json:"defaultDepartmentId"`
	Status              string    `json:"status" enum:"active,unhealthy,disabled"`
	StatusReason        string    `json:"statusReason"`
	MessagesPerSecond   int       `json:"messagesPerSecond"`
	HasAccessToken      bool      `json:"hasAccessToken"`
	HasAppSecret        bool      `json:"hasAppSecret"`
	HasVerifyToken      bool      `json:"hasVerifyToken"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
}

func toChannelDTO(c helpdesk.Channel) channelDTO {
	return channelDTO{
		ID: c.ID, Name: c.Name, PhoneNumberID: c.PhoneNumberID, DisplayPhoneNumber: c.DisplayPhoneNumber,
		BusinessAccountID: c.BusinessAccountID, DefaultDepartmentID: optional(c.DefaultDepartmentID), Status: string(c.Status),
		StatusReason: c.StatusReason, MessagesPerSecond: c.MessagesPerSecond, HasAccessToken: c.AccessToken != "",
		HasAppSecret: c.AppSecret != "", HasVerifyToken: c.VerifyToken != "", CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

type channelRequest struct {
	Name                *string `json:"name"`
	PhoneNumberID       *string `json:"phoneNumberId" description:"Meta's Phone number ID; fixed once created"`
	DisplayPhoneNumber  *string `json:"displayPhoneNumber"`
	BusinessAccountID   *string `json:"businessAccountId" description:"WhatsApp Business Account id, for templates"`
	AccessToken         *string `json:"accessToken" description:"write-only"`
	AppSecret           *string `json:"appSecret" description:"write-only; verifies this number's webhooks"`
	VerifyToken         *string `json:"verifyToken" description:"write-only"`
	DefaultDepartmentID *string `json:"defaultDepartmentId" description:"queue for new conversations; empty clears it"`
	MessagesPerSecond   *int    `json:"messagesPerSecond"`
	Status              *string `json:"status" enum:"active,disabled"`
}

type createChannelRequest struct {
	Name                *string `json:"name" required:"true"`
	PhoneNumberID       *string `json:"phoneNumberId" required:"true" description:"Meta's Phone number ID"`
	DisplayPhoneNumber  *string `json:"displayPhoneNumber"`
	BusinessAccountID   *string `json:"businessAccountId"`
	AccessToken         *string `json:"accessToken" required:"true" description:"write-only"`
	AppSecret           *string `json:"appSecret" required:"true" description:"write-only"`
	VerifyToken         *string `json:"verifyToken" description:"write-only"`
	DefaultDepartmentID *string `json:"defaultDepartmentId"`
	MessagesPerSecond   *int    `json:"messagesPerSecond"`
	Status              *string `json:"status" enum:"active,disabled"`
}

func (r channelRequest) params() helpdesk.ChannelParams {
	p := helpdesk.ChannelParams{
		Name: r.Name, PhoneNumberID: r.PhoneNumberID, DisplayPhoneNumber: r.DisplayPhoneNumber, BusinessAccountID: r.BusinessAccountID,
		AccessToken: r.AccessToken, AppSecret: r.AppSecret, VerifyToken: r.VerifyToken, DefaultDepartmentID: r.DefaultDepartmentID,
		MessagesPerSecond: r.MessagesPerSecond,
	}
	if r.Status != nil {
		st := helpdesk.ChannelStatus(*r.Status)
		p.Status = &st
	}
	return p
}

func (a *API) handleListChannels(w http.ResponseWriter, r *http.Request) error {
	chs, err := a.desk.ListChannels(r.Context())
	if err != nil {
		return err
	}
	out := dataList[channelDTO]{Data: make([]channelDTO, 0, len(chs))}
	for _, c := range chs {
		out.Data = append(out.Data, toChannelDTO(c))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateChannel(w http.ResponseWriter, r *http.Request) error {
	var req createChannelRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.desk.CreateChannel(r.Context(), actor(r), channelRequest(req).params())
	a.channels.forget()
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/channels/"+c.ID)
	return writeJSON(w, http.StatusCreated, toChannelDTO(c))
}

func (a *API) handleUpdateChannel(w http.ResponseWriter, r *http.Request) error {
	var req channelRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.desk.UpdateChannel(r.Context(), actor(r), chi.URLParam(r, "id"), req.params())
	a.channels.forget()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toChannelDTO(c))
}
