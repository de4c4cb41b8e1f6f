package httpapi

import "net/http"

// routeTable lists every route of the API. Handler registration and the
// OpenAPI document are both generated from it.
func (a *API) routeTable() []route {
	pageParams := []queryParam{
		{"limit", "integer", "page size, 1–100 (default 50)"},
		{"cursor", "string", "opaque cursor from the previous page's nextCursor"},
	}
	return []route{
		{method: http.MethodGet, path: "/health", summary: "Process and database health", tag: "system",
			access: public, probe: true, response: healthDTO{}, status: http.StatusOK, handler: a.handleHealth},
		{method: http.MethodGet, path: "/metrics", summary: "Prometheus metrics (text exposition format)", tag: "system",
			access: public, probe: true, status: http.StatusOK, handler: a.handleMetrics},
		{method: http.MethodGet, path: "/api/v1/openapi.json", summary: "This OpenAPI document", tag: "system",
			access: public, response: map[string]any{}, status: http.StatusOK, handler: a.handleOpenAPI},

		{method: http.MethodPost, path: "/api/v1/auth/login", summary: "Log in with e-mail and password", tag: "auth",
			access: public, request: loginRequest{}, response: sessionDTO{}, status: http.StatusOK, handler: a.handleLogin},
		{method: http.MethodPost, path: "/api/v1/auth/refresh-token", summary: "Exchange a refresh token for a new session (rotation)", tag: "auth",
			access: public, request: refreshRequest{}, response: sessionDTO{}, status: http.StatusOK, handler: a.handleRefresh},
		{method: http.MethodPost, path: "/api/v1/auth/logout", summary: "End the session of a refresh token", tag: "auth",
			access: public, request: refreshRequest{}, status: http.StatusNoContent, handler: a.handleLogout},
		{method: http.MethodGet, path: "/api/v1/auth/me", summary: "The authenticated user", tag: "auth",
			access: lockedOK, response: userDTO{}, status: http.StatusOK, handler: a.handleMe},
		{method: http.MethodPost, path: "/api/v1/auth/change-password", summary: "Change the own password; returns a fresh session and ends the others", tag: "auth",
			access: lockedOK, request: changePasswordRequest{}, response: sessionDTO{}, status: http.StatusOK, handler: a.handleChangePassword},

		{method: http.MethodGet, path: "/api/v1/users", summary: "List users", tag: "users", access: authenticated,
			query: append([]queryParam{
				{"role", "string", "admin, supervisor or agent"},
				{"departmentId", "string", "members of this department"},
				{"active", "boolean", "true or false"},
				{"q", "string", "fragment of name or e-mail"},
			}, pageParams...),
			response: page[userDTO]{}, status: http.StatusOK, handler: a.handleListUsers},
		{method: http.MethodPost, path: "/api/v1/users", summary: "Create a user", tag: "users", access: adminOnly,
			request: createUserRequest{}, response: userDTO{}, status: http.StatusCreated, handler: a.handleCreateUser},
		{method: http.MethodGet, path: "/api/v1/users/online", summary: "Users online now (active in the last 5 minutes)", tag: "users",
			access: authenticated, response: dataList[onlineUserDTO]{}, status: http.StatusOK, handler: a.handleOnlineUsers},
		{method: http.MethodGet, path: "/api/v1/users/{id}", summary: "Get a user", tag: "users", access: authenticated,
			response: userDTO{}, status: http.StatusOK, handler: a.handleGetUser},
		{method: http.MethodPatch, path: "/api/v1/users/{id}", summary: "Update a user (admins: anything; others: their own name and e-mail)", tag: "users",
			access: authenticated, request: updateUserRequest{}, response: userDTO{}, status: http.StatusOK, handler: a.handleUpdateUser},
		{method: http.MethodDelete, path: "/api/v1/users/{id}", summary: "Deactivate a user: no more logins, sessions revoked", tag: "users",
			access: adminOnly, status: http.StatusNoContent, handler: a.handleDeactivateUser},

		{method: http.MethodGet, path: "/api/v1/departments", summary: "List departments", tag: "departments",
			access: authenticated, response: dataList[departmentDTO]{}, status: http.StatusOK, handler: a.handleListDepartments},
		{method: http.MethodPost, path: "/api/v1/departments", summary: "Create a department", tag: "departments",
			access: adminOnly, request: createDepartmentRequest{}, response: departmentDTO{}, status: http.StatusCreated, handler: a.handleCreateDepartment},
		{method: http.MethodGet, path: "/api/v1/departments/{id}", summary: "Get a department", tag: "departments",
			access: authenticated, response: departmentDTO{}, status: http.StatusOK, handler: a.handleGetDepartment},
		{method: http.MethodPatch, path: "/api/v1/departments/{id}", summary: "Update a department", tag: "departments",
			access: adminOnly, request: departmentRequest{}, response: departmentDTO{}, status: http.StatusOK, handler: a.handleUpdateDepartment},
		{method: http.MethodDelete, path: "/api/v1/departments/{id}", summary: "Delete a department without conversations", tag: "departments",
			access: adminOnly, status: http.StatusNoContent, handler: a.handleDeleteDepartment},

		{method: http.MethodGet, path: "/api/v1/webhooks/whatsapp", summary: "Meta's webhook verification handshake (echoes hub.challenge as text/plain)", tag: "whatsapp",
			access: webhook, status: http.StatusOK, query: []queryParam{
				{"hub.mode", "string", "subscribe"}, {"hub.verify_token", "string", "WEBHOOK_VERIFY_TOKEN"}, {"hub.challenge", "string", "echoed back"},
			}, handler: a.handleWebhookVerify},
		{method: http.MethodPost, path: "/api/v1/webhooks/whatsapp", summary: "Meta's signed webhook (X-Hub-Signature-256); answered after the content is stored", tag: "whatsapp",
			access: webhook, status: http.StatusOK, bodyLimit: webhookBodyLimit, handler: a.handleWebhook},

		{method: http.MethodGet, path: "/api/v1/conversations", summary: "Conversations, newest activity first", tag: "conversations", access: authenticated,
			query: append([]queryParam{
				{"status", "string", "bot, waiting, open or closed; repeat or comma-separate for several"},
				{"departmentId", "string", "only this department's conversations"},
				{"assigneeId", "string", "a user id, me, or none (unassigned)"},
				{"channelId", "string", "only this WhatsApp number's conversations"},
				{"unread", "boolean", "true: only conversations with unread customer messages"},
				{"q", "string", "search: customer name or number fragment, or words of any message (case- and accent-insensitive)"},
			}, pageParams...),
			response: page[conversationDTO]{}, status: http.StatusOK, handler: a.handleListConversations},
		{method: http.MethodGet, path: "/api/v1/conversations/{id}", summary: "A conversation", tag: "conversations", access: authenticated,
			response: conversationDTO{}, status: http.StatusOK, handler: a.handleGetConversation},
		{method: http.MethodPost, path: "/api/v1/conversations/{id}/takeover", summary: "Take a conversation from the bot or a queue (supervisors and admins also from another agent); " +
			"of simultaneous callers one wins, the others get 409 already_assigned", tag: "conversations", access: authenticated,
			response: conversationDTO{}, status: http.StatusOK, handler: a.handleTakeover},
		{method: http.MethodPost, path: "/api/v1/conversations/{id}/transfer", summary: "Hand a conversation to another agent (open) or department queue (waiting)", tag: "conversations",
			access: authenticated, request: transferRequest{}, response: conversationDTO{}, status: http.StatusOK, handler: a.handleTransfer},
		{method: http.MethodPost, path: "/api/v1/conversations/{id}/close", summary: "Close a conversation (body optional)", tag: "conversations",
			access: authenticated, request: closeRequest{}, response: conversationDTO{}, status: http.StatusOK, handler: a.handleClose},
		{method: http.MethodPost, path: "/api/v1/conversations/{id}/reopen", summary: "Reopen a closed conversation, assigned to the caller", tag: "conversations",
			access: authenticated, response: conversationDTO{}, status: http.StatusOK, handler: a.handleReopen},
		{method: http.MethodGet, path: "/api/v1/messages", summary: "A conversation's messages: newest page first, each page in chat order", tag: "messages", access: authenticated,
			query:    append([]queryParam{{"conversationId", "string", "required"}}, pageParams...),
			response: page[messageDTO]{}, status: http.StatusOK, handler: a.handleListMessages},
		{method: http.MethodPost, path: "/api/v1/messages", summary: "Reply to a customer: stored as queued, delivered by a durable job. " +
			"JSON for text and templates; multipart/form-data (conversationId, file, caption, replyToId) for a file", tag: "messages", access: authenticated,
			bodyLimit: maxUploadBytes, request: sendMessageRequest{}, response: messageDTO{}, status: http.StatusAccepted, handler: a.handleSendMessage},
		{method: http.MethodGet, path: "/api/v1/templates", summary: "The channel's approved WhatsApp templates (synced from Meta, cached 10 minutes)", tag: "messages",
			access: authenticated, query: []queryParam{{"channelId", "string", "required when there are several channels"}},
			response: dataList[templateDTO]{}, status: http.StatusOK, handler: a.handleListTemplates},
		{method: http.MethodGet, path: "/api/v1/media/{id}", summary: "The downloaded file of a media message (by message id); 409 while still downloading", tag: "messages",
			access: authenticated, status: http.StatusOK, handler: a.handleMedia},
		{method: http.MethodPatch, path: "/api/v1/messages/{id}/read", summary: "Mark a customer's message (and the earlier ones) read; sends WhatsApp's read receipt", tag: "messages",
			access: authenticated, response: messageDTO{}, status: http.StatusOK, handler: a.handleMarkRead},

		{method: http.MethodPost, path: "/api/v1/sandbox/messages", summary: "Sandbox only: a simulated customer sends a text (delivered as a signed webhook)", tag: "sandbox",
			access: authenticated, request: sandboxSendRequest{}, response: sandboxSentDTO{}, status: http.StatusAccepted, handler: a.handleSandboxSend},
		{method: http.MethodGet, path: "/api/v1/sandbox/messages", summary: "Sandbox only: one simulated customer's phone — what they sent and received", tag: "sandbox",
			access: authenticated, query: []queryParam{{"waId", "string", "the customer's number, digits only"}},
			response: dataList[sandboxMessageDTO]{}, status: http.StatusOK, handler: a.handleSandboxMessages},
		{method: http.MethodGet, path: "/api/v1/channels", summary: "Connected WhatsApp numbers (credentials are never returned)", tag: "whatsapp",
			access: authenticated, response: dataList[channelDTO]{}, status: http.StatusOK, handler: a.handleListChannels},
		{method: http.MethodPost, path: "/api/v1/channels", summary: "Connect another WhatsApp number", tag: "whatsapp",
			access: adminOnly, request: createChannelRequest{}, response: channelDTO{}, status: http.StatusCreated, handler: a.handleCreateChannel},
		{method: http.MethodPatch, path: "/api/v1/channels/{id}", summary: "Change a number's settings or credentials (a new token clears 'unhealthy')", tag: "whatsapp",
			access: adminOnly, request: channelRequest{}, response: channelDTO{}, status: http.StatusOK, handler: a.handleUpdateChannel},
		{method: http.MethodGet, path: "/api/v1/audit-logs", summary: "Audit log, newest first", tag: "audit", access: supervisorUp,
			query: append([]queryParam{
				{"action", "string", "e.g. auth.login_failed"},
				{"actorId", "string", "who acted"},
				{"entityId", "string", "what was acted on"},
			}, pageParams...),
			response: page[auditLogDTO]{}, status: http.StatusOK, handler: a.handleListAuditLogs},
	}
}
