import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useSyncExternalStore } from "react";
import { useLocation, useNavigate } from "react-router";

import { api, onUnauthorized, signIn, signOut, tokens } from "../api/client";
import { keys } from "../api/keys";
import type { WhoAmI } from "../api/types";
import { clearBanner } from "../lib/banner";

export interface AuthState {
  /** Tokens are held (the user may still be loading). */
  signedIn: boolean;
  user: WhoAmI | null;
  loading: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

export const AuthContext = createContext<AuthState | null>(null);

function useTokensPresent(): boolean {
  return useSyncExternalStore(
    (fn) => tokens.subscribe(fn),
    () => tokens.get() !== null,
  );
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const signedIn = useTokensPresent();

  useEffect(() => {
    onUnauthorized(() => {
      client.clear();
      if (!window.location.pathname.endsWith("/login")) {
        navigate("/login", { replace: true, state: { from: location.pathname + location.search, expired: true } });
      }
    });
  }, [client, navigate, location.pathname, location.search]);

  const me = useQuery({
    queryKey: keys.me(),
    queryFn: ({ signal }) => api<WhoAmI>("/auth/me", { signal }),
    enabled: signedIn,
    staleTime: 60_000,
    retry: 1,
  });

  const login = useCallback(
    async (username: string, password: string) => {
      client.clear();
      await signIn(username, password);
      clearBanner();
      await client.fetchQuery({ queryKey: keys.me(), queryFn: () => api<WhoAmI>("/auth/me") });
    },
    [client],
  );

  const logout = useCallback(async () => {
    await signOut();
    client.clear();
    clearBanner();
    navigate("/login", { replace: true });
  }, [client, navigate]);

  const value = useMemo<AuthState>(
    () => ({
      signedIn,
      user: signedIn ? (me.data ?? null) : null,
      loading: signedIn && me.isPending,
      login,
      logout,
    }),
    [signedIn, me.data, me.isPending, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside AuthProvider");
  return a;
}

/** The signed-in user (null while loading or signed out). */
export function useUser(): WhoAmI | null {
  return useAuth().user;
}
