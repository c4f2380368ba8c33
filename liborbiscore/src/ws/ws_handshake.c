/*
 * Copyright (C) Orbis
 *
 * The two keys of the opening handshake (RFC 6455 sections 4.1 and 4.2.2).
 * Only the key arithmetic lives here; the HTTP upgrade itself belongs to
 * whoever owns the connection.
 */


#include <string.h>

#include <openssl/evp.h>

#include <orbiscore/base64.h>

#include "ws_int.h"


#define ORBIS_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


orbis_rc_t
orbis_ws_accept_key(const char *client_key, size_t len,
    char out[ORBIS_WS_ACCEPT_LEN + 1])
{
    int            ok;
    unsigned int   dlen;
    EVP_MD_CTX    *md;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    out[0] = '\0';

    if (client_key == NULL || !orbis_ws_key_valid(client_key, len)) {
        return ORBIS_ERR_INVALID;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return ORBIS_ERR_NOMEM;
    }

    ok = EVP_DigestInit_ex(md, EVP_sha1(), NULL)
         && EVP_DigestUpdate(md, client_key, len)
         && EVP_DigestUpdate(md, ORBIS_WS_GUID, sizeof(ORBIS_WS_GUID) - 1)
         && EVP_DigestFinal_ex(md, digest, &dlen);

    EVP_MD_CTX_free(md);

    if (!ok || dlen != 20) {
        return ORBIS_ERR_INTERNAL;
    }

    /* 20 bytes encode to 28 characters */
    out[orbis_base64_encode(out, digest, 20)] = '\0';

    return ORBIS_OK;
}


void
orbis_ws_client_key(const uint8_t random[16], char out[ORBIS_WS_KEY_LEN + 1])
{
    out[orbis_base64_encode(out, random, 16)] = '\0';
}


int
orbis_ws_key_valid(const char *key, size_t len)
{
    /* 16 bytes are 5 full groups of 3 plus one byte: 22 chars and "==" */
    if (key == NULL || len != ORBIS_WS_KEY_LEN
        || orbis_base64_span(key, 22, 0) != 22)
    {
        return 0;
    }

    /*
     * The last character carries 2 bits of data and 4 bits that a
     * canonical encoder leaves at zero; like most servers we do not insist
     * on them, the decoded length is what RFC 6455 4.2.1 constrains.
     */
    return key[22] == '=' && key[23] == '=';
}

