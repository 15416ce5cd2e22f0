export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadHandle {
  /** Resolves with the server's answer ({ id, version, cid, size, status }); rejects on error or cancel. */
  done: Promise<{ status: string; size: number }>;
  cancel(): void;
}

export class UploadCancelled extends Error {
  constructor() {
    super('Upload cancelled');
    this.name = 'UploadCancelled';
  }
}

/**
 * PUTs a file to a single-use upload URL. XMLHttpRequest, not fetch: only XHR reports upload progress
 * in every browser. The bytes go as they are (application/octet-stream); the server encrypts them.
 */
export function uploadFile(url: string, file: Blob, onProgress: (progress: UploadProgress) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<{ status: string; size: number }>((resolve, reject) => {
    xhr.open('PUT', url);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr.response as { status: string; size: number });
      const body = xhr.response as { error?: { message?: string } } | null;
      reject(new Error(body?.error?.message ?? `The upload was refused (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error('The upload failed: the connection was lost'));
    xhr.onabort = () => reject(new UploadCancelled());
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
