/** Schemas of the upload and link-preview routes (files/, images/, og/, and upload URLs). */
import { Type } from 'typebox'
import { Empty, ERRORS, param, query, timedObject } from './common.js'

const tags = ['uploads']
const Url = timedObject({ file: Type.String({ description: 'the URL the upload is served at' }) })

/** `POST files/` and `images/`. */
export const upload = (kind: 'files' | 'images') => ({
  tags,
  summary: kind === 'files' ? 'Upload a file' : 'Upload an image (PNG, JPEG, GIF, WebP...)',
  description:
    'A `multipart/form-data` body with the file in the field `file` (read by @fastify/multipart, not a JSON schema).',
  response: { 200: Url, ...ERRORS },
})

/** `DELETE files/` and `images/`. */
export const deleteUpload = (kind: 'files' | 'images') => ({
  tags,
  summary: `Delete an upload from ${kind}/ (a user token: only its own)`,
  querystring: query({ url: param('the URL the upload answered with') }),
  response: { 200: Empty, ...ERRORS },
})

/** `GET images/`. */
export const processImage = {
  tags,
  summary: 'A resized or cropped copy of an uploaded image',
  querystring: query({
    url: param('the image URL'),
    w: param('width in pixels'),
    h: param('height in pixels'),
    crop: param('`top`, `bottom`, `left`, `right` or `center` (comma-separated)'),
    resize: param('`clip`, `crop`, `scale` or `fill`'),
  }),
  response: { 200: Url, ...ERRORS },
}

/** `GET /uploads/:kind/:id/:name` (no token: the random id grants the read). */
export const serveUpload = {
  tags,
  summary: 'An upload itself, as uploaded (images take w, h, crop and resize); no token',
  security: [],
  params: Type.Object({
    kind: Type.String({ description: '`files` or `images`' }),
    id: Type.String({ description: "the upload's random id" }),
    name: Type.String({ description: 'its file name' }),
  }),
}

/** `GET og/`. */
export const openGraph = {
  tags: ['og'],
  summary: "A page's link preview: its Open Graph title, description, images... (private addresses refused)",
  querystring: query({ url: param('an http or https URL, at most 2048 characters') }),
  response: {
    200: timedObject({
      original_url: Type.String(),
      title: Type.Optional(Type.String()),
      description: Type.Optional(Type.String()),
      url: Type.Optional(Type.String()),
      site_name: Type.Optional(Type.String()),
      images: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
    }),
    ...ERRORS,
  },
}
