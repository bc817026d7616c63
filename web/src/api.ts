// The API client: every call carries the signed-in key; a problem+json answer becomes an
// ApiError whose message is the server's own "what to fix".

export interface Session {
  user: string | null;
  role: string;
  auth: string;
  permissions: string[];
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const KEY_STORAGE = "loyalty.key";

export class Api {
  private key: string | null = sessionStorage.getItem(KEY_STORAGE);
  session: Session | null = null;

  get signedIn(): boolean {
    return this.session !== null;
  }

  can(permission: string): boolean {
    return this.session?.permissions.includes(permission) ?? false;
  }

  // Checks the key with the server; keeps it for this browser tab only.
  async signIn(key: string | null): Promise<Session> {
    this.key = key;
    try {
      this.session = await this.get<Session>("/v1/session");
    } catch (error) {
      this.key = null;
      sessionStorage.removeItem(KEY_STORAGE);
      throw error;
    }
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    return this.session;
  }

  // Signs in again with the key this tab kept, if any (without one nothing is asked: the
  // sign-in form comes first).
  async resume(): Promise<Session | null> {
    if (!this.key) return null;
    try {
      return await this.signIn(this.key);
    } catch {
      return null;
    }
  }

  signOut(): void {
    this.key = null;
    this.session = null;
    sessionStorage.removeItem(KEY_STORAGE);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiError(response.status, `the server answered ${response.status} without JSON`);
    }
    if (!response.ok) {
      const detail = (parsed as { detail?: string } | null)?.detail ?? `request failed with ${response.status}`;
      throw new ApiError(response.status, detail);
    }
    return parsed as T;
  }
}
