package oauthdbtest

import (
	"net/http"
	"slices"
)

// metadata is the server's metadata: the authorization server metadata of
// RFC 8414 and the OpenID Provider metadata of OpenID Connect Discovery 1.0
// in one document. RFC 8414 §2 takes the OpenID parameters into its registry,
// so one document serves both paths, and the two cannot disagree.
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserInfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	// Discovery 1.0 §3 defaults request_uri_parameter_supported to true:
	// say false, since the server reads no request objects.
	ClaimsParameterSupported     bool `json:"claims_parameter_supported"`
	RequestParameterSupported    bool `json:"request_parameter_supported"`
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
}

// handleMetadata serves the metadata, at PathMetadata and at
// PathOpenIDConfiguration.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET"})
		return
	}
	secretMethods := []string{"client_secret_basic", "client_secret_post"}
	writeJSON(w, http.StatusOK, metadata{
		Issuer:                 s.URL,
		AuthorizationEndpoint:  s.URL + PathAuthorize,
		TokenEndpoint:          s.URL + PathToken,
		UserInfoEndpoint:       s.URL + PathUserInfo,
		JWKSURI:                s.URL + PathJWKS,
		IntrospectionEndpoint:  s.URL + PathIntrospect,
		RevocationEndpoint:     s.URL + PathRevoke,
		EndSessionEndpoint:     s.URL + PathEndSession,
		ScopesSupported:        []string{"openid", "profile", "email", "offline_access"},
		ResponseTypesSupported: []string{"code"},
		ResponseModesSupported: []string{"query"},
		GrantTypesSupported:    []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken},
		SubjectTypesSupported:  []string{"public"},
		// The algorithms of the published keys, and no other: Discovery 1.0
		// §3 asks for RS256 in the list, but a server whose keys are EdDSA
		// (WithSigningAlgorithm(EdDSA)) never signs with it.
		IDTokenSigningAlgValuesSupported:           s.signingAlgorithms(),
		ClaimsSupported:                            claimsSupported,
		TokenEndpointAuthMethodsSupported:          append(slices.Clone(secretMethods), "none"),
		IntrospectionEndpointAuthMethodsSupported:  secretMethods,
		RevocationEndpointAuthMethodsSupported:     append(slices.Clone(secretMethods), "none"),
		CodeChallengeMethodsSupported:              []string{"S256"},
		AuthorizationResponseISSParameterSupported: true,
	})
}
