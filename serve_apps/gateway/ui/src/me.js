import { createContext, useContext } from "react";

// Who the token belongs to (GET /me): the role and whether it may act (create, approve, reject).
export const MeContext = createContext({ role: "viewer", can_act: false });
export const useMe = () => useContext(MeContext);
